import Foundation
import TestSupport
import XCTest

/// Many machines, one upstream: through a pull-through mirror (olah) each with its own cache, or
/// on one shared cache. Upstream serves each byte once either way.
final class FleetTests: HuggingFaceTestCase {
    private let weights = TestBytes.make(count: 3_000_000, seed: 170)

    @discardableResult
    private func addRepo() -> String {
        fake.addRepo("acme/fleet", files: [.text("config.json", #"{"model_type":"llama"}"#),
                                           .text("tokenizer.json", #"{"version":"1.0"}"#),
                                           .lfs("model.safetensors", weights)])
    }

    /// File bytes that left upstream: LFS bodies from the CDN, regular files from the Hub's
    /// resolve-cache (API answers and redirect bodies are not file bytes).
    private var upstreamFileBytes: Int {
        fake.cdn.bodyBytesSent + fake.hub.bodyBytesSentByPath.filter { $0.key.hasPrefix("/api/resolve-cache/") }.values.reduce(0, +)
    }

    func testThreeMachinesThroughAnOlahMirrorFetchEachFileFromUpstreamOnce() throws {
        guard OlahMirror.isInstalled || ProcessInfo.processInfo.environment["CI"] != nil else {
            throw XCTSkip("olah is not installed (pip install olah)")
        }
        let commit = addRepo()
        let mirror = try OlahMirror(upstreamHub: fake.hub.authority, upstreamCDN: fake.cdn.authority)
        defer { mirror.stop() }
        // Three machines start at once, each with its own cache, all pointed at the mirror.
        let machines = try (1...3).map { machine -> (ModelPullProcess, String) in
            let cacheOfMachine = root + "/machine-\(machine)"
            let server = try launch(["HF_ENDPOINT": mirror.endpoint])
            server.request(1, "models/download", ["provider": "huggingface", "model": "acme/fleet", "cacheDir": cacheOfMachine])
            return (server, cacheOfMachine)
        }
        for (index, (server, cacheOfMachine)) in machines.enumerated() {
            let (notifications, response) = server.response(to: 1, timeout: 120)
            ProgressRules.check(notifications, response: response, expectTerminal: "complete")
            XCTAssertEqual(response?.resultObject?["status"] as? String, "complete", "machine \(index + 1): \(response?.raw ?? "") \(mirror.logText.suffix(3000))")
            let model = cacheOfMachine + "/models--acme--fleet/snapshots/\(commit)/model.safetensors"
            XCTAssertEqual(FileManager.default.contents(atPath: model), weights, "machine \(index + 1)")
        }
        let repoBytes = weights.count + 22 + 17
        XCTAssertEqual(upstreamFileBytes, repoBytes, "upstream served the repo once for three machines: \(fake.cdn.bodyBytesSentByPath) \(fake.hub.bodyBytesSentByPath)")
    }
}
