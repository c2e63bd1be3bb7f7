import Foundation
import TestSupport
import XCTest

/// The three ways to cancel, and what single-flight does with each.
final class CancellationTests: XCTestCase {
    private var http: LoopbackHTTPServer!
    private var directory = ""

    override func setUpWithError() throws {
        let router = Router()
        router.file("/slow.bin", StaticFile(data: TestBytes.make(count: 2 << 20, seed: 40)))
        http = try LoopbackHTTPServer(router: router)
        http.faults.add(.rateLimit(bytesPerSecond: 1 << 20), for: .path("/slow.bin"), times: .always)
        directory = makeTemporaryDirectory(name)
    }

    override func tearDown() {
        http.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private var params: [String: Any] {
        ["provider": "url", "model": http.url("/slow.bin").absoluteString, "localDir": directory]
    }

    /// Waits until bytes flow for `requestId`, returning the messages read on the way.
    @discardableResult
    private func waitForBytes(_ server: ModelPullProcess, requestId: String) -> [WireMessage] {
        var seen: [WireMessage] = []
        while let message = server.nextMessage(timeout: 10) {
            seen.append(message)
            if message.params?["requestId"] as? String == requestId, (message.params?["downloadedBytes"] as? Int ?? 0) > 0 { break }
        }
        return seen
    }

    func testCancelRequestNotificationCancelsTheDownload() throws {
        let server = try ModelPullProcess()
        server.request("job", "models/download", params)
        let before = waitForBytes(server, requestId: "job")
        server.notify("$/cancelRequest", ["id": "job"])
        let (notifications, response) = server.response(to: "job", timeout: 10)
        ProgressRules.check(before + notifications, response: response, expectTerminal: "cancelled")
        XCTAssertEqual(response?.errorCode, 1014)
        XCTAssertEqual(response?.errorData?["retryable"] as? Bool, true)
    }

    func testMCPStyleCancelledNotificationCancelsTheDownload() throws {
        let server = try ModelPullProcess()
        server.request("job", "models/download", params)
        waitForBytes(server, requestId: "job")
        server.notify("notifications/cancelled", ["requestId": "job", "reason": "user closed the dialog"])
        XCTAssertEqual(server.response(to: "job", timeout: 10).response?.errorData?["kind"] as? String, "cancelled")
    }

    func testCancellingOneSharedRequestLeavesTheOtherRunning() throws {
        let server = try ModelPullProcess()
        server.request("a", "models/download", params)
        server.request("b", "models/download", params)
        waitForBytes(server, requestId: "b")
        server.notify("$/cancelRequest", ["id": "a"])
        var answers: [String: WireMessage] = [:]
        var lastStatus: [String: String] = [:]
        while answers.count < 2, let message = server.nextMessage(timeout: 20) {
            if message.isResponse { answers[message.idDescription ?? ""] = message; continue }
            if let requestId = message.params?["requestId"] as? String {
                lastStatus[requestId] = message.params?["status"] as? String
            }
        }
        XCTAssertEqual(answers["\"a\""]?.errorData?["kind"] as? String, "cancelled")
        XCTAssertEqual(lastStatus["a"], "cancelled")
        XCTAssertNotNil(answers["\"b\""]?.resultObject, "the other request still completes")
        XCTAssertEqual(lastStatus["b"], "complete")
    }

    func testDownloadsCancelStopsTheJobForEveryRequest() throws {
        let server = try ModelPullProcess()
        server.request("a", "models/download", params)
        server.request("b", "models/download", params)
        var downloadId: String?
        while downloadId == nil, let message = server.nextMessage(timeout: 10) {
            if (message.params?["downloadedBytes"] as? Int ?? 0) > 0 { downloadId = message.params?["downloadId"] as? String }
        }
        server.request("c", "downloads/cancel", ["downloadId": try XCTUnwrap(downloadId)])
        var answers: [String: WireMessage] = [:]
        while answers.count < 3, let message = server.nextMessage(timeout: 10) {
            if message.isResponse { answers[message.idDescription ?? ""] = message }
        }
        XCTAssertEqual(answers["\"a\""]?.errorData?["kind"] as? String, "cancelled")
        XCTAssertEqual(answers["\"b\""]?.errorData?["kind"] as? String, "cancelled")
        XCTAssertEqual(answers["\"c\""]?.resultObject?["cancelled"] as? Bool, true)
        server.request("d", "downloads/cancel", ["downloadId": try XCTUnwrap(downloadId)])
        XCTAssertEqual(server.response(to: "d").response?.errorData?["kind"] as? String, "not_found",
                       "a finished job is no longer cancellable")
    }
}
