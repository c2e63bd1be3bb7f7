import Foundation
import TestSupport
import XCTest

/// The cache as a store: where it is, what models/list and models/delete see, and offline mode.
final class HuggingFaceCacheTests: HuggingFaceTestCase {
    private let weights = TestBytes.make(count: 120_000, seed: 61)

    @discardableResult
    private func addRepos() -> (llm: String, mlx: String) {
        let llm = fake.addRepo("acme/llm", files: [.text("config.json", "{\"a\": 1}"), .lfs("pytorch_model.bin", weights)])
        let mlx = fake.addRepo("mlx-community/llm-4bit", files: [.text("config.json", "{}"),
                                                                 .lfs("model.safetensors", TestBytes.make(count: 30_000, seed: 62))])
        return (llm, mlx)
    }

    private func list(_ server: ModelPullProcess, id: Int, provider: String?) throws -> [[String: Any]] {
        var params: [String: Any] = ["cacheDir": cache]
        if let provider { params["provider"] = provider }
        server.request(id, "models/list", params)
        let response = try XCTUnwrap(server.response(to: id).response)
        return try XCTUnwrap(response.resultObject?["models"] as? [[String: Any]], "\(response)")
    }

    func testModelsListReportsReposRevisionsSizesAndCompleteness() throws {
        let (llm, _) = addRepos()
        let server = try launch()
        download(server, id: 1, params("acme/llm"))
        download(server, id: 2, params("mlx-community/llm-4bit", provider: "mlx"))

        let models = try list(server, id: 3, provider: "huggingface")
        XCTAssertEqual(models.compactMap { $0["model"] as? String }, ["acme/llm", "mlx-community/llm-4bit"])
        let first = models[0]
        XCTAssertEqual(first["provider"] as? String, "huggingface")
        XCTAssertEqual(first["path"] as? String, repoFolder("acme/llm"))
        XCTAssertEqual(number(first["sizeBytes"]), Int64(weights.count + 8))
        XCTAssertEqual(first["complete"] as? Bool, true)
        let revisions = try XCTUnwrap(first["revisions"] as? [[String: Any]])
        XCTAssertEqual(revisions.count, 1)
        XCTAssertEqual(revisions[0]["revision"] as? String, "main")
        XCTAssertEqual(revisions[0]["commit"] as? String, llm)
        XCTAssertEqual(number(revisions[0]["files"]), 2)

        let mlx = try list(server, id: 4, provider: "mlx")
        XCTAssertEqual(mlx.compactMap { $0["model"] as? String }, ["mlx-community/llm-4bit"], "only repos mlx-lm can load")

        // A partial file left by an interrupted download makes the repo incomplete.
        try Data("x".utf8).write(to: URL(fileURLWithPath: repoFolder("acme/llm") + "/blobs/\(String(repeating: "cd", count: 32)).modelpull.partial"))
        let after = try list(server, id: 5, provider: "huggingface")
        XCTAssertEqual(after.first { $0["model"] as? String == "acme/llm" }?["complete"] as? Bool, false)
    }

    func testModelsDeleteRemovesTheRepoAndNothingElse() throws {
        addRepos()
        let server = try launch()
        download(server, id: 1, params("acme/llm"))
        download(server, id: 2, params("mlx-community/llm-4bit", provider: "mlx"))

        let commit = try XCTUnwrap(fake.commit("acme/llm"))
        let listing = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: repoFolder("acme/llm") + "/trees/\(commit).json")[.size] as? NSNumber).intValue
        server.request(3, "models/delete", ["provider": "huggingface", "model": "acme/llm", "cacheDir": cache])
        let deleted = try XCTUnwrap(server.response(to: 3).response?.resultObject)
        XCTAssertEqual(deleted["deleted"] as? Bool, true)
        XCTAssertEqual(number(deleted["freedBytes"]), Int64(weights.count + 8 + 40 + listing), "blobs, the ref and the listing")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("acme/llm")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache + "/.locks/models--acme--llm"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: snapshot("mlx-community/llm-4bit", fake.commit("mlx-community/llm-4bit")!) + "/model.safetensors"))
        XCTAssertEqual(try list(server, id: 4, provider: "huggingface").compactMap { $0["model"] as? String }, ["mlx-community/llm-4bit"])

        server.request(5, "models/delete", ["provider": "huggingface", "model": "acme/llm", "cacheDir": cache])
        XCTAssertEqual(server.response(to: 5).response?.resultObject?["deleted"] as? Bool, false)
        server.request(6, "models/delete", ["provider": "mlx", "model": "mlx-community/llm-4bit:Q4", "cacheDir": cache])
        XCTAssertEqual(server.response(to: 6).response?.errorData?["kind"] as? String, "invalid_model")
    }

    func testOfflineServesACompleteCacheWithoutTheHub() throws {
        let (llm, _) = addRepos()
        let online = try launch()
        download(online, params("acme/llm"))
        fake.stop()

        let offline = try launch(["HF_HUB_OFFLINE": "1"])
        let result = try XCTUnwrap(download(offline, id: 1, params("acme/llm")).response?.resultObject)
        XCTAssertEqual(result["revision"] as? String, llm)
        XCTAssertEqual(number(result["bytesDownloaded"]), 0)
        XCTAssertEqual(number(result["bytesReused"]), Int64(weights.count + 8))

        let subset = try XCTUnwrap(download(offline, id: 2, params("acme/llm", ["include": ["*.json"]])).response?.resultObject)
        XCTAssertEqual((subset["files"] as? [[String: Any]])?.count, 1)
    }

    func testOfflineNamesWhatIsMissing() throws {
        addRepos()
        let online = try launch()
        download(online, params("acme/llm"))
        let model = fake.file("acme/llm", "pytorch_model.bin")
        try FileManager.default.removeItem(atPath: repoFolder("acme/llm") + "/blobs/\(model.sha256)")
        let offline = try launch(["HF_HUB_OFFLINE": "1"])

        let incomplete = try XCTUnwrap(download(offline, id: 1, params("acme/llm"), expect: "error").response)
        XCTAssertEqual(incomplete.errorData?["kind"] as? String, "not_found")
        XCTAssertTrue((incomplete.error?["message"] as? String ?? "").contains("pytorch_model.bin"))
        XCTAssertEqual((incomplete.errorData?["details"] as? [String: Any])?["missing"] as? [String], ["pytorch_model.bin"])

        let absent = try XCTUnwrap(download(offline, id: 2, params("mlx-community/llm-4bit"), expect: "error").response)
        XCTAssertEqual(absent.errorData?["kind"] as? String, "not_found")
        XCTAssertTrue((absent.error?["message"] as? String ?? "").contains("HF_HUB_OFFLINE"))
        XCTAssertEqual(fake.hub.requests(matching: .prefix("/api/models/mlx-community")).count, 0, "offline means no requests")
    }

    func testCacheFolderFollowsTheHuggingFaceEnvironment() throws {
        addRepos()
        var request = params("acme/llm")
        request.removeValue(forKey: "cacheDir")

        let explicit = root + "/explicit-cache"
        let viaHubCache = try launch(["HF_HUB_CACHE": explicit])
        download(viaHubCache, request)
        XCTAssertTrue(FileManager.default.fileExists(atPath: explicit + "/models--acme--llm/refs/main"))

        let legacy = root + "/legacy-cache"
        let viaLegacy = try launch(["HUGGINGFACE_HUB_CACHE": legacy])
        download(viaLegacy, request)
        XCTAssertTrue(FileManager.default.fileExists(atPath: legacy + "/models--acme--llm/refs/main"))

        let viaHome = try launch()
        download(viaHome, request)
        XCTAssertTrue(FileManager.default.fileExists(atPath: hfHome + "/hub/models--acme--llm/refs/main"))

        let xdg = root + "/xdg"
        let viaXDG = try launch(["HF_HOME": "", "XDG_CACHE_HOME": xdg])
        download(viaXDG, request)
        XCTAssertTrue(FileManager.default.fileExists(atPath: xdg + "/huggingface/hub/models--acme--llm/refs/main"))

        viaHome.request(9, "models/list", ["provider": "huggingface"])
        let listed = viaHome.response(to: 9).response?.resultObject?["models"] as? [[String: Any]]
        XCTAssertEqual(listed?.first?["path"] as? String, hfHome + "/hub/models--acme--llm", "models/list reads the same cache")
    }

    func testBaseUrlOverridesHFEndpoint() throws {
        addRepos()
        let server = try launch(["HF_ENDPOINT": "http://127.0.0.1:9"])
        XCTAssertNotNil(download(server, params("acme/llm", ["baseUrl": fake.endpoint + "/"])).response?.resultObject)
    }
}
