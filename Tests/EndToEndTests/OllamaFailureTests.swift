import Foundation
import TestSupport
import XCTest

/// How an Ollama pull ends when it does not succeed: every error Ollama reports under HTTP 200
/// or in a 4xx/5xx body, a broken or unfinished stream, no server, a stall, a cancel. Each one
/// must be exactly one terminal `error`/`cancelled` event with a kind a client can act on.
final class OllamaFailureTests: XCTestCase {
    private var ollama: FakeOllama!

    override func setUpWithError() throws {
        ollama = try FakeOllama()
    }

    override func tearDown() {
        ollama.stop()
    }

    private struct Case {
        var model: String
        var failure: FakeOllamaScenario.Failure?
        var kind: String
        var code: Int
        var retryable: Bool
        var says: String
    }

    func testOllamaErrorsEndThePullWithTheRightKind() throws {
        let cases = [
            Case(model: "ghost:1", failure: nil, kind: "not_found", code: 1003, retryable: false,
                 says: "pull model manifest: file does not exist"),
            Case(model: "newer:1", failure: .errorLine("pull model manifest: 412: The model you are attempting to pull requires a newer version of Ollama.", at: .afterManifest),
                 kind: "upstream", code: 1009, retryable: false, says: "Update Ollama"),
            Case(model: "flaky:1", failure: .errorLine("max retries exceeded: EOF", at: .midLayer(2)),
                 kind: "network", code: 1008, retryable: true, says: "max retries exceeded"),
            Case(model: "full:1", failure: .errorLine("write /srv/ollama/models/blobs/sha256-0a1b-partial: no space left on device", at: .midLayer(1)),
                 kind: "disk_full", code: 1011, retryable: false, says: "no space left on device"),
            Case(model: "damaged:1", failure: .errorLine("digest mismatch, file must be downloaded again: want sha256:aa, got sha256:bb", at: .afterVerify),
                 kind: "integrity", code: 1010, retryable: true, says: "downloads it afresh"),
            Case(model: "private:1", failure: .errorLine("unauthorized: access denied", at: .afterManifest),
                 kind: "auth_required", code: 1004, retryable: false, says: "id_ed25519.pub"),
            Case(model: "refused:1", failure: .httpError(status: 400, error: "invalid model name"),
                 kind: "invalid_model", code: 1002, retryable: false, says: "invalid model name"),
            Case(model: "exploded:1", failure: .httpError(status: 500, error: "mkdir /srv/ollama/models/manifests: permission denied"),
                 kind: "upstream", code: 1009, retryable: true, says: "permission denied"),
        ]
        for item in cases where item.failure != nil {
            ollama.setScenario(FakeOllamaScenario(layers: [.present(10_000, seed: 1), .downloading(900_000, seed: 2), .downloading(300_000, seed: 3)],
                                                  failure: item.failure), for: item.model)
        }
        let server = try ModelPullProcess()
        for (index, item) in cases.enumerated() {
            let run = server.pull(index + 1, item.model, from: ollama)
            ProgressRules.check(run.notifications, response: run.response, expectTerminal: "error")
            XCTAssertEqual(run.errorKind, item.kind, item.model)
            XCTAssertEqual(run.response?.errorCode, item.code, item.model)
            XCTAssertEqual(run.response?.errorData?["retryable"] as? Bool, item.retryable, item.model)
            XCTAssertTrue(run.errorMessage.contains(item.says), "\(item.model): \(run.errorMessage)")
            XCTAssertEqual(run.events.last?["message"] as? String, run.errorMessage, "the terminal event says the same")
            let details = run.response?.errorData?["details"] as? [String: Any]
            XCTAssertNotNil(details?["ollamaError"], "Ollama's own words are kept for programs: \(item.model)")
            if case .errorLine(_, .midLayer) = item.failure {
                XCTAssertTrue(run.events.contains { (OllamaTestRun.bytes($0) ?? 0) > 10_000 },
                              "\(item.model) showed real progress before failing")
            }
        }
        XCTAssertTrue(ollama.installedNames.isEmpty, "no failed pull installed anything")
    }

    func testStreamCutMidwayIsANetworkErrorThatKeepsLayers() throws {
        ollama.setScenario(FakeOllamaScenario(layers: [.downloading(1_000_000, seed: 4)], failure: .cut(at: .midLayer(0))), for: "cut:1")
        let run = try ModelPullProcess().pull(1, "cut:1", from: ollama)
        ProgressRules.check(run.notifications, response: run.response, expectTerminal: "error")
        XCTAssertEqual(run.errorKind, "network")
        XCTAssertEqual(run.response?.errorData?["retryable"] as? Bool, true)
        XCTAssertTrue(run.errorMessage.contains("stay in Ollama's store"), run.errorMessage)
        XCTAssertTrue(run.events.contains { (OllamaTestRun.bytes($0) ?? 0) > 0 }, "bytes moved before the cut")
    }

    func testStreamThatEndsWithoutSuccessIsAnError() throws {
        ollama.setScenario(FakeOllamaScenario(layers: [.downloading(200_000, seed: 5)], failure: .end(at: .afterVerify)), for: "unfinished:1")
        let run = try ModelPullProcess().pull(1, "unfinished:1", from: ollama)
        ProgressRules.check(run.notifications, response: run.response, expectTerminal: "error")
        XCTAssertEqual(run.errorKind, "network")
        XCTAssertTrue(run.errorMessage.contains("ended before reporting success"), run.errorMessage)
        XCTAssertTrue(run.errorMessage.contains("verifying sha256 digest"), "names the last status: \(run.errorMessage)")
    }

    func testInvalidNameIsRefusedBeforeAnyRequest() throws {
        let server = try ModelPullProcess()
        for (index, name) in ["bad name!", "-dash", "dotted.ns/model", "model:"].enumerated() {
            let run = server.pull(index + 1, name, from: ollama)
            XCTAssertEqual(run.response?.errorCode, 1002, name)
            XCTAssertEqual(run.errorKind, "invalid_model", name)
            XCTAssertTrue(run.errorMessage.contains("[host/][namespace/]model[:tag]"), run.errorMessage)
        }
        XCTAssertTrue(ollama.http.requests(to: "/api/pull").isEmpty)
    }

    func testNoServerIsProviderUnavailableWithTheHint() throws {
        let port = try closedLoopbackPort()
        let server = try ModelPullProcess()
        server.request(1, "models/download", ["provider": "ollama", "model": "llama3.2:1b", "baseUrl": "127.0.0.1:\(port)",
                                              "source": "server"])
        let (notifications, response) = server.response(to: 1)
        ProgressRules.check(notifications, response: response, expectTerminal: "error")
        XCTAssertEqual(response?.errorCode, 1013)
        XCTAssertEqual(response?.errorData?["kind"] as? String, "provider_unavailable")
        let message = response?.error?["message"] as? String ?? ""
        XCTAssertTrue(message.contains("is Ollama running at http://127.0.0.1:\(port)"), message)
        XCTAssertTrue(message.contains("`ollama serve`"), message)
        XCTAssertEqual((response?.errorData?["details"] as? [String: Any])?["baseUrl"] as? String, "http://127.0.0.1:\(port)")
    }

    func testStallIsReportedThenEndsAsANetworkError() throws {
        ollama.setScenario(FakeOllamaScenario(layers: [.downloading(1_000_000, seed: 6)], failure: .stall(at: .midLayer(0))), for: "stuck:1")
        let run = try ModelPullProcess().pull(1, "stuck:1", from: ollama, extra: ["stallSeconds": 1])
        ProgressRules.check(run.notifications, response: run.response, expectTerminal: "error")
        let stallNotice = run.messages.firstIndex { $0.hasPrefix("Stalled: Ollama reported no new bytes") }
        XCTAssertNotNil(stallNotice, "the stall is said before giving up: \(run.messages)")
        XCTAssertEqual(run.events[stallNotice ?? 0]["status"] as? String, "downloading")
        XCTAssertEqual(run.errorKind, "network")
        XCTAssertTrue(run.errorMessage.contains("stalled"), run.errorMessage)
        XCTAssertNotNil((run.response?.errorData?["details"] as? [String: Any])?["stalledSeconds"])
        XCTAssertTrue(ollama.waitForDisconnect(of: "stuck:1"), "giving up closes the request")
    }

    func testCancelClosesTheRequestAndSaysLayersStay() throws {
        let slow = FakeOllamaScenario.Layer.downloading(5_000_000, seed: 7, reports: stride(from: 0.0, to: 1, by: 0.005).map { $0 }, repeats: 1)
        ollama.setScenario(FakeOllamaScenario(layers: [slow]), for: "big:70b")
        let server = try ModelPullProcess()
        server.request(1, "models/download", ["provider": "ollama", "model": "big:70b", "baseUrl": ollama.baseURL])
        var downloadId: String?
        var notifications: [WireMessage] = []
        while let message = server.nextMessage(timeout: 10) {
            notifications.append(message)
            if let params = message.params, (params["downloadedBytes"] as? Int ?? 0) > 0 {
                downloadId = params["downloadId"] as? String
                break
            }
        }
        server.request(2, "downloads/cancel", ["downloadId": try XCTUnwrap(downloadId)])
        var answers: [String: WireMessage] = [:]
        while answers.count < 2, let message = server.nextMessage(timeout: 10) {
            if message.isResponse { answers[message.idDescription ?? ""] = message } else { notifications.append(message) }
        }
        XCTAssertEqual(answers["2"]?.resultObject?["cancelled"] as? Bool, true)
        ProgressRules.check(notifications, response: answers["1"], expectTerminal: "cancelled")
        XCTAssertEqual(answers["1"]?.errorData?["kind"] as? String, "cancelled")
        let message = answers["1"]?.error?["message"] as? String ?? ""
        XCTAssertTrue(message.contains("stay in Ollama's store"), message)
        XCTAssertTrue(ollama.waitForDisconnect(of: "big:70b"), "the fake Ollama saw the request closed")
        XCTAssertTrue(ollama.installedNames.isEmpty)
    }
}
