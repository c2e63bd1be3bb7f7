import Foundation
import TestSupport
import XCTest

/// How an Ollama pull ends when the process does: stdin EOF and SIGTERM answer the request
/// `cancelled`, exit 0 promptly and close the request to Ollama (whose layers stay in its store);
/// a dead parent takes the child and its request with it.
final class OllamaLifecycleTests: XCTestCase {
    private var ollama: FakeOllama!

    override func setUpWithError() throws {
        ollama = try FakeOllama()
    }

    override func tearDown() {
        ollama.stop()
    }

    /// A pull that takes about 12 s unless it is stopped.
    private func addSlowModel(_ name: String, seed: Int) {
        let slow = FakeOllamaScenario.Layer.downloading(5_000_000, seed: seed, reports: stride(from: 0.0, to: 1, by: 0.005).map { $0 }, repeats: 1)
        ollama.setScenario(FakeOllamaScenario(layers: [slow]), for: name)
    }

    private func params(_ model: String) -> [String: Any] {
        ["provider": "ollama", "model": model, "baseUrl": ollama.baseURL]
    }

    func testStdinEOFAndSIGTERMMidPullAnswerCancelledExitAndCloseTheRequest() throws {
        for (index, way) in ["stdin EOF", "SIGTERM"].enumerated() {
            let model = "slow\(index):1b"
            addSlowModel(model, seed: 70 + index)
            let server = try ModelPullProcess()
            server.request(1, "models/download", params(model))
            var seen: [WireMessage] = []
            while let message = server.nextMessage(timeout: 10) {
                seen.append(message)
                if (message.params?["downloadedBytes"] as? Int ?? 0) > 0 { break }
            }
            if way == "SIGTERM" { server.signal(SIGTERM) } else { server.closeStdin() }
            let (rest, response) = server.response(to: 1)
            ProgressRules.check(seen + rest, response: response, expectTerminal: "cancelled")
            XCTAssertTrue((response?.error?["message"] as? String ?? "").contains("stay in Ollama's store"), "\(way): \(String(describing: response))")
            XCTAssertEqual(server.waitForExit(timeout: 2.5), 0, "\(way): exits 0 promptly")
            XCTAssertTrue(ollama.waitForDisconnect(of: model), "\(way): the request to Ollama was closed")
            XCTAssertFalse(ollama.installedNames.contains(model))
        }
    }

    func testParentDeathMidPullEndsTheChildAndItsRequest() throws {
        addSlowModel("orphan:1b", seed: 80)
        let orphan = try OrphanableServer()
        orphan.request(1, "models/download", params("orphan:1b"))
        var moving = false
        while let message = orphan.nextMessage(timeout: 10) {
            if (message.params?["downloadedBytes"] as? Int ?? 0) > 0 { moving = true; break }
        }
        XCTAssertTrue(moving, "the pull was under way")
        orphan.killParent()
        XCTAssertTrue(orphan.waitForChildExit(timeout: 5), "modelpull outlived its parent")
        XCTAssertTrue(ollama.waitForDisconnect(of: "orphan:1b"), "the request to Ollama died with it")
    }
}
