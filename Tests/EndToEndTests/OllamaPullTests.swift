import Foundation
import TestSupport
import XCTest

/// `provider: "ollama"` end to end: the binary, a fake Ollama that streams like the real one,
/// and every progress rule of DESIGN.md checked on what the client received.
final class OllamaPullTests: XCTestCase {
    private var ollama: FakeOllama!

    override func setUpWithError() throws {
        ollama = try FakeOllama()
    }

    override func tearDown() {
        ollama.stop()
    }

    func testPullSumsLayersCountsPresentOnesAndCoalescesRepeats() throws {
        let weights = FakeOllamaScenario.Layer.downloading(3_000_000, seed: 2, reports: [0, 0.1, 0.3, 0.5, 0.7, 0.9], repeats: 3)
        let projector = FakeOllamaScenario.Layer.downloading(400_000, seed: 3, reports: [0.5, 0.8], repeats: 2)
        let template = FakeOllamaScenario.Layer.present(50_000, seed: 1)
        let scenario = FakeOllamaScenario(layers: [template, weights, projector, .silent(485, seed: 4)], verifySeconds: 0.3)
        ollama.setScenario(scenario, for: "llama3.2:1b")

        let server = try ModelPullProcess()
        let run = server.pull(1, "llama3.2:1b", from: ollama, extra: ["token": "proxy-secret-42"])

        ProgressRules.check(run.notifications, response: run.response, expectTerminal: "complete")
        XCTAssertEqual(run.phases, ["starting", "downloading", "verifying", "complete"])
        let totals = Set(run.events.compactMap { OllamaTestRun.bytes($0, "totalBytes") })
        XCTAssertGreaterThan(totals.count, 1, "the total grows as layers appear: \(totals)")
        XCTAssertEqual(totals.max(), scenario.reportedBytes)
        XCTAssertTrue(run.events.contains { $0["file"] as? String == "sha256:" + weights.hex.prefix(12) })
        XCTAssertTrue(run.messages.contains("Pulling \(weights.hex.prefix(12))"), "\(run.messages)")

        // Ollama sent 1 + 6×3 + 2×2 layer lines; repeats of the same numbers produce no events.
        let downloading = run.events.filter { $0["status"] as? String == "downloading" }
        XCTAssertLessThan(downloading.count, 23)
        let keys = run.events.map { event in
            ["status", "message", "downloadedBytes", "totalBytes", "filesDone"].map { "\(event[$0] ?? "-")" }.joined(separator: "|")
        }
        for index in keys.indices.dropFirst() {
            XCTAssertNotEqual(keys[index], keys[index - 1], "event \(index) repeats the one before it")
        }

        let result = try XCTUnwrap(run.result)
        XCTAssertEqual(result["path"] as? String, ollama.modelsDirectory, "the models folder Ollama itself reports")
        XCTAssertEqual((result["bytesReused"] as? NSNumber)?.int64Value, 50_000)
        XCTAssertEqual((result["bytesDownloaded"] as? NSNumber)?.int64Value, 3_400_000)
        let files = try XCTUnwrap(result["files"] as? [[String: Any]])
        XCTAssertEqual(files.map { $0["path"] as? String }, [template, weights, projector].map { "blobs/sha256-\($0.hex)" })
        XCTAssertEqual(files.map { ($0["size"] as? NSNumber)?.int64Value }, [50_000, 3_000_000, 400_000])
        XCTAssertEqual(files.first?["sha256"] as? String, template.hex)
        XCTAssertEqual(ProgressRules.progressParams(run.notifications).last.flatMap { OllamaTestRun.bytes($0) }, scenario.reportedBytes)

        let pull = try XCTUnwrap(ollama.pullBodies.first)
        XCTAssertEqual(pull["model"] as? String, "llama3.2:1b")
        XCTAssertEqual(pull["stream"] as? Bool, true)
        XCTAssertNil(pull["insecure"], "insecure is only sent when asked for")
        XCTAssertEqual(ollama.http.requests(to: "/api/pull").first?.header("Authorization"), "Bearer proxy-secret-42")
        XCTAssertEqual(ollama.installedNames, ["llama3.2:1b"])
        server.closeStdin()
        _ = server.waitForExit()
        XCTAssertFalse(server.stderrText.contains("proxy-secret-42"))
    }

    func testProgressNeverGoesBackWhenOllamaRestartsAPart() throws {
        // Ollama rolls a layer's `completed` back when a part restarts (ollama#8484).
        let dipping = FakeOllamaScenario.Layer.downloading(2_000_000, seed: 5, reports: [0, 0.3, 0.6, 0.2, 0.4, 0.7, 0.95], repeats: 1)
        ollama.setScenario(FakeOllamaScenario(layers: [dipping, .downloading(500_000, seed: 6)]), for: "dip:1")
        let run = try ModelPullProcess().pull(1, "dip:1", from: ollama)
        ProgressRules.check(run.notifications, response: run.response, expectTerminal: "complete")
        let peak = run.events.compactMap { OllamaTestRun.bytes($0) }.max() ?? 0
        XCTAssertEqual(peak, 2_500_000)
    }

    func testModelWhoseLayersAreAllPresentIsReusedWhole() throws {
        let scenario = FakeOllamaScenario(layers: [.present(2_000_000, seed: 7), .present(300, seed: 8), .present(90, seed: 9)])
        ollama.setScenario(scenario, for: "cached:latest")
        let run = try ModelPullProcess().pull(1, "cached:latest", from: ollama)
        ProgressRules.check(run.notifications, response: run.response, expectTerminal: "complete")
        let result = try XCTUnwrap(run.result)
        XCTAssertEqual((result["bytesReused"] as? NSNumber)?.int64Value, 2_000_390)
        XCTAssertEqual((result["bytesDownloaded"] as? NSNumber)?.int64Value, 0)
        XCTAssertEqual((result["files"] as? [Any])?.count, 3)
    }

    func testSafetensorsAggregateLineIsOneProgressWithoutFiles() throws {
        let scenario = FakeOllamaScenario(layers: [.downloading(1_000_000, seed: 10), .downloading(600_000, seed: 11)], aggregate: true)
        ollama.setScenario(scenario, for: "x/flux-tensors:latest")
        let run = try ModelPullProcess().pull(1, "x/flux-tensors:latest", from: ollama)
        ProgressRules.check(run.notifications, response: run.response, expectTerminal: "complete")
        XCTAssertTrue(run.messages.contains("Pulling model"), "\(run.messages)")
        XCTAssertEqual(run.events.compactMap { OllamaTestRun.bytes($0, "totalBytes") }.max(), 1_600_000)
        XCTAssertEqual((run.result?["files"] as? [Any])?.count, 0, "sha256:model is not a blob")
        XCTAssertEqual((run.result?["bytesDownloaded"] as? NSNumber)?.int64Value, 1_600_000)
    }

    func testSilentVerifyPhaseStillHeartbeats() throws {
        // Ollama hashes new layers without a word; the client must still hear the job.
        let scenario = FakeOllamaScenario(layers: [.downloading(800_000, seed: 12, reports: [0.5], repeats: 1)], verifySeconds: 3)
        ollama.setScenario(scenario, for: "quiet:1")
        let run = try ModelPullProcess().pull(1, "quiet:1", from: ollama, extra: ["stallSeconds": 1])
        ProgressRules.check(run.notifications, response: run.response, expectTerminal: "complete")
        let verifying = run.events.filter { $0["status"] as? String == "verifying" }
        XCTAssertGreaterThanOrEqual(verifying.count, 2, "the status change and at least one heartbeat: \(verifying)")
        XCTAssertEqual(Set(verifying.compactMap { OllamaTestRun.bytes($0) }), [800_000], "every byte counted once verifying")
        XCTAssertFalse(run.messages.contains { $0.hasPrefix("Stalled") }, "hashing is not a stall, even with stallSeconds 1")
    }

    func testNonStreamingAnswerIsUnderstood() throws {
        var scenario = FakeOllamaScenario.typical(seed: 3)
        scenario.ignoresStreamFlag = true
        ollama.setScenario(scenario, for: "buffered:1")
        var failing = FakeOllamaScenario(layers: [], failure: .errorLine("pull model manifest: file does not exist", at: .afterManifest))
        failing.ignoresStreamFlag = true
        ollama.setScenario(failing, for: "buffered-missing:1")

        let server = try ModelPullProcess()
        let run = server.pull(1, "buffered:1", from: ollama)
        ProgressRules.check(run.notifications, response: run.response, expectTerminal: "complete")
        XCTAssertTrue((run.result?["message"] as? String ?? "").contains("no layer progress"), "\(run.result ?? [:])")

        let missing = server.pull(2, "buffered-missing:1", from: ollama)
        ProgressRules.check(missing.notifications, response: missing.response, expectTerminal: "error")
        XCTAssertEqual(missing.errorKind, "not_found", "a 500 {\"error\"} body is read and mapped")
        XCTAssertTrue(missing.errorMessage.contains("file does not exist"), missing.errorMessage)
    }

    func testPlainHTTPRegistryNeedsInsecureAndItIsPassedOn() throws {
        let model = "http://localhost:5000/team/model:v1"
        var scenario = FakeOllamaScenario.typical(seed: 4)
        scenario.requiresInsecure = true
        ollama.setScenario(scenario, for: model)
        let server = try ModelPullProcess()

        let refused = server.pull(1, model, from: ollama)
        ProgressRules.check(refused.notifications, response: refused.response, expectTerminal: "error")
        XCTAssertEqual(refused.errorKind, "invalid_model")
        XCTAssertTrue(refused.errorMessage.contains("`insecure: true`"), refused.errorMessage)

        let allowed = server.pull(2, model, from: ollama, extra: ["insecure": true])
        ProgressRules.check(allowed.notifications, response: allowed.response, expectTerminal: "complete")
        XCTAssertEqual(ollama.pullBodies.last?["insecure"] as? Bool, true)
    }

    func testOllamaAndURLDownloadsRunSideBySideInOneSession() throws {
        ollama.setScenario(FakeOllamaScenario(layers: [.downloading(1_500_000, seed: 13, reports: [0, 0.2, 0.4, 0.6, 0.8], repeats: 3)]),
                           for: "side:1")
        let data = TestBytes.make(count: 1 << 20, seed: 21)
        let router = Router()
        router.file("/model.bin", StaticFile(data: data))
        let files = try LoopbackHTTPServer(router: router)
        defer { files.stop() }
        files.faults.add(.rateLimit(bytesPerSecond: 1 << 20), for: .path("/model.bin"))
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let server = try ModelPullProcess()
        server.request(1, "models/download", ["provider": "ollama", "model": "side:1", "baseUrl": ollama.baseURL])
        server.request(2, "models/download", ["provider": "url", "model": files.url("/model.bin").absoluteString, "localDir": directory])
        var notifications: [Int: [WireMessage]] = [:]
        var responses: [Int: WireMessage] = [:]
        while responses.count < 2, let message = server.nextMessage(timeout: 30) {
            if message.isResponse, let id = Int(message.idDescription ?? "") {
                responses[id] = message
            } else if let requestId = message.params?["requestId"] as? Int {
                notifications[requestId, default: []].append(message)
            }
        }
        ProgressRules.check(notifications[1] ?? [], response: responses[1], expectTerminal: "complete")
        ProgressRules.check(notifications[2] ?? [], response: responses[2], expectTerminal: "complete")
        XCTAssertNotEqual(responses[1]?.resultObject?["downloadId"] as? String, responses[2]?.resultObject?["downloadId"] as? String)
        XCTAssertEqual(try Checksums.sha256(of: directory + "/model.bin"), try Checksums.sha256(of: data))
    }
}
