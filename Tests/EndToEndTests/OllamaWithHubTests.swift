import Foundation
import TestSupport
import XCTest

/// Issue 4's "done when": one client drives an Ollama pull and a Hugging Face download in the
/// same session at the same time, and both progress streams keep every rule.
final class OllamaWithHubTests: XCTestCase {
    func testOllamaPullAndHubDownloadShareASessionWithCorrectStreams() throws {
        let ollama = try FakeOllama()
        defer { ollama.stop() }
        ollama.setScenario(FakeOllamaScenario(layers: [
            .downloading(2_000_000, seed: 31, reports: [0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9], repeats: 3),
            .present(1_500, seed: 32),
        ], verifySeconds: 0.3), for: "llama3.2:1b")

        let hub = try FakeHub()
        defer { hub.stop() }
        let weights = TestBytes.make(count: 1 << 20, seed: 33)
        hub.addRepo("acme/tiny", files: [.text("config.json", #"{"model_type": "llama"}"#), .lfs("model.safetensors", weights)])
        let root = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }

        let server = try ModelPullProcess(environment: [
            "HF_ENDPOINT": hub.endpoint, "HF_HOME": root + "/hf-home", "HF_TOKEN": "", "HUGGING_FACE_HUB_TOKEN": "",
            "HF_HUB_OFFLINE": "", "HF_HUB_CACHE": "", "HUGGINGFACE_HUB_CACHE": "",
        ])
        server.request(1, "models/download", ["provider": "ollama", "model": "llama3.2:1b", "baseUrl": ollama.baseURL])
        server.request(2, "models/download", ["provider": "huggingface", "model": "acme/tiny", "cacheDir": root + "/hub"])
        var notifications: [Int: [WireMessage]] = [:]
        var responses: [Int: WireMessage] = [:]
        var order: [Int] = []
        while responses.count < 2, let message = server.nextMessage(timeout: 30) {
            if message.isResponse, let id = Int(message.idDescription ?? "") {
                responses[id] = message
            } else if let requestId = message.params?["requestId"] as? Int {
                notifications[requestId, default: []].append(message)
                if order.last != requestId { order.append(requestId) }
            }
        }
        ProgressRules.check(notifications[1] ?? [], response: responses[1], expectTerminal: "complete")
        ProgressRules.check(notifications[2] ?? [], response: responses[2], expectTerminal: "complete")
        XCTAssertEqual((responses[1]?.resultObject?["bytesReused"] as? NSNumber)?.intValue, 1_500)
        XCTAssertEqual((responses[1]?.resultObject?["bytesDownloaded"] as? NSNumber)?.intValue, 2_000_000)
        XCTAssertNotNil(responses[2]?.resultObject?["path"] as? String, "\(responses[2]?.raw ?? "no answer")")
        XCTAssertNotEqual(responses[1]?.resultObject?["downloadId"] as? String, responses[2]?.resultObject?["downloadId"] as? String)
        XCTAssertGreaterThan(order.count, 2, "the two streams interleave rather than run one after the other: \(order)")
    }
}
