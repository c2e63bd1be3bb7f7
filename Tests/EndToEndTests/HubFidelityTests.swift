import Foundation
import TestSupport
import XCTest

/// Where huggingface_hub 2.4 and ModelPull must agree (`hf-fidelity.md`): legacy owner-less ids,
/// caches on filesystems without symlinks, the tree cache Python's offline mode reads, and the
/// Xet bridge's refusal of very large files.
final class HubFidelityTests: HuggingFaceTestCase {
    /// `gpt2` is still a working id: the Hub answers it with a 307 to `openai-community/gpt2`, and
    /// the cache folder keeps the name asked for (`models--gpt2`), as transformers' caches do.
    func testAnOwnerLessLegacyIdDownloadsIntoItsOwnCacheFolder() throws {
        let weights = TestBytes.make(count: 300_000, seed: 140)
        let commit = fake.addRepo("openai-community/gpt2", files: [FakeHubFile("config.json", Data(#"{"n_layer":12}"#.utf8), lfs: false),
                                                                    FakeHubFile("model.safetensors", weights, lfs: true)])
        fake.addLegacyAlias("gpt2", for: "openai-community/gpt2")
        let server = try launch()
        let result = try XCTUnwrap(download(server, params("gpt2")).response?.resultObject)
        XCTAssertEqual(result["path"] as? String, snapshot("gpt2", commit))
        XCTAssertEqual(contents(snapshot("gpt2", commit) + "/model.safetensors"), weights)
        XCTAssertFalse(fake.hub.requests(matching: .prefix("/api/models/gpt2/")).isEmpty, "asked under the name given")

        server.request(2, "models/list", ["provider": "huggingface", "cacheDir": cache])
        let models = try XCTUnwrap(server.response(to: 2).response?.resultObject?["models"] as? [[String: Any]])
        XCTAssertEqual(models.compactMap { $0["model"] as? String }, ["gpt2"])
        server.request(3, "models/delete", ["provider": "huggingface", "model": "gpt2", "cacheDir": cache])
        XCTAssertEqual(server.response(to: 3).response?.resultObject?["deleted"] as? Bool, true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("gpt2")))
    }
}
