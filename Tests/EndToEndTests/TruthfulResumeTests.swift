import Foundation
import TestSupport
import XCTest

/// Resume is claimed only when it happened: a server that answers a range with the whole file
/// restarts it and says so, and bytes nobody received are never promised to a resume.
final class TruthfulResumeTests: URLTestCase {
    /// Cancels a rate-limited download of `path` once some bytes are on disk, leaving a partial.
    private func leavePartial(_ server: ModelPullProcess, _ http: LoopbackHTTPServer, _ path: String) {
        http.faults.add(.rateLimit(bytesPerSecond: 1_000_000), for: .path(path), times: .once)
        server.request(1, "models/download", params(http.url(path), ["connections": 1]))
        let deadline = Date().addingTimeInterval(10)
        while http.bodyBytesSent(path: path) < 600_000, Date() < deadline { usleep(20_000) }
        server.notify("$/cancelRequest", ["id": 1])
        XCTAssertEqual(server.response(to: 1).response?.errorData?["kind"] as? String, "cancelled")
    }

    func testAServerThatIgnoresRangesRestartsTheFileAndSaysSo() throws {
        let data = TestBytes.make(count: 3_000_000, seed: 60)
        let router = Router()
        router.file("/whole.bin", StaticFile(data: data, supportsRanges: false))
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        let server = try ModelPullProcess()
        leavePartial(server, http, "/whole.bin")
        XCTAssertGreaterThan(Int64((try? FileManager.default.attributesOfItem(atPath: directory + "/.modelpull/whole.bin.partial"))?[.size] as? Int ?? 0), 0)

        server.request(2, "models/download", params(http.url("/whole.bin")))
        let (notifications, response) = server.response(to: 2)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        let result = try XCTUnwrap(response?.resultObject)
        XCTAssertEqual(result["bytesReused"] as? Int, 0, "nothing was reused: the server sent the whole file again")
        XCTAssertEqual(result["bytesDownloaded"] as? Int, data.count)
        let messages = notifications.compactMap { $0.params?["message"] as? String }
        XCTAssertFalse(messages.contains { $0.hasPrefix("Resuming") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.contains("does not support resuming") }, "\(messages)")
        XCTAssertEqual(FileManager.default.contents(atPath: directory + "/whole.bin"), data)
    }

    /// The control: a server that honours ranges resumes, and only then is it said.
    func testAServerThatHonoursRangesResumesAndSaysSo() throws {
        let data = TestBytes.make(count: 3_000_000, seed: 61)
        let router = Router()
        router.file("/ranged.bin", StaticFile(data: data))
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        let server = try ModelPullProcess()
        leavePartial(server, http, "/ranged.bin")

        server.request(2, "models/download", params(http.url("/ranged.bin"), ["connections": 1]))
        let (notifications, response) = server.response(to: 2)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        let result = try XCTUnwrap(response?.resultObject)
        let reused = try XCTUnwrap(result["bytesReused"] as? Int)
        XCTAssertGreaterThan(reused, 0)
        XCTAssertEqual(reused + (result["bytesDownloaded"] as? Int ?? -1), data.count)
        let messages = notifications.compactMap { $0.params?["message"] as? String }
        XCTAssertTrue(messages.contains { $0.hasPrefix("Resuming") }, "\(messages)")
    }

    /// Connection refused six times: no byte arrived, so none is promised and no file is left.
    func testNothingReceivedPromisesNoResumeAndLeavesNothing() throws {
        let closed = try LoopbackHTTPServer { _ in .notFound() }
        let url = closed.url("/m.bin")
        closed.stop()
        let server = try ModelPullProcess()
        server.request(1, "models/download", params(url))
        let response = try XCTUnwrap(server.response(to: 1, timeout: 90).response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "network", response.raw)
        let message = try XCTUnwrap(response.error?["message"] as? String)
        XCTAssertFalse(message.contains("kept") || message.lowercased().contains("resume"), message)
        let left = (try? FileManager.default.subpathsOfDirectory(atPath: directory)) ?? []
        XCTAssertEqual(left, [], "nothing left behind")
    }
}
