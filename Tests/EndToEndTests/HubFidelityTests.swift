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

    /// `HF_HUB_ETAG_TIMEOUT` bounds a silent metadata call and `HF_HUB_DOWNLOAD_TIMEOUT` a silent
    /// file body, as in huggingface_hub: each silence ends that attempt, and the retry completes.
    func testHuggingFaceHubsTimeoutVariablesBoundSilences() throws {
        let weights = TestBytes.make(count: 400_000, seed: 141)
        fake.addRepo("acme/slow", files: [.text("config.json", "{}"), .lfs("model.safetensors", weights)])
        fake.hub.faults.add(.delayFirstByte(seconds: 4), for: .prefix("/api/models/acme/slow/revision/"), times: .once)
        let model = fake.cdnPath(fake.file("acme/slow", "model.safetensors"))
        fake.cdn.faults.add(.stall(afterBytes: 100_000, seconds: 4, then: .close), for: .path(model), times: .once)
        let server = try launch(["HF_HUB_ETAG_TIMEOUT": "1", "HF_HUB_DOWNLOAD_TIMEOUT": "1"])
        let (events, response) = download(server, params("acme/slow"))
        XCTAssertEqual(response?.resultObject?["status"] as? String, "complete")
        let messages = events.compactMap { $0.params?["message"] as? String }
        XCTAssertTrue(messages.contains { $0.contains("no answer for 1 s") }, "the metadata call gave up after 1 s: \(messages)")
        XCTAssertTrue(messages.contains { $0.contains("no data arrived for 1 s") }, "the body gave up after 1 s: \(messages)")
        XCTAssertEqual(contents(snapshot("acme/slow", fake.commit("acme/slow")!) + "/model.safetensors"), weights)
    }

    /// The Xet bridge's 400 for a file too large for it: not retried, and the message says what
    /// can fetch it.
    func testTheXetBridgeRefusingAHugeFileSaysToUseAXetClient() throws {
        fake.lfsThroughXetBridge = true
        fake.addRepo("acme/giant", files: [.text("config.json", "{}"), .lfs("model.gguf", TestBytes.make(count: 200_000, seed: 142))])
        let path = fake.cdnPath(fake.file("acme/giant", "model.gguf"))
        XCTAssertTrue(path.hasPrefix("/xet-bridge-us/"))
        fake.cdn.faults.add(.status(400), for: .path(path), times: .always)
        let response = try XCTUnwrap(download(try launch(), params("acme/giant"), expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "upstream", response.raw)
        XCTAssertEqual(response.errorData?["retryable"] as? Bool, false, response.raw)
        let message = response.error?["message"] as? String ?? ""
        XCTAssertTrue(message.contains("Xet") && message.contains("hf download acme/giant model.gguf"), message)
        XCTAssertEqual(fake.cdn.requests(to: path).count, 1, "a refusal that cannot change is not retried")
    }
}
