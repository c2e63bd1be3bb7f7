import Foundation
import TestSupport
import XCTest

/// `models/list`, `models/delete` and `providers/list` for Ollama, through the binary, with the
/// server found through `baseUrl` or `OLLAMA_HOST` as Ollama itself would read it.
final class OllamaLocalModelsTests: XCTestCase {
    private var ollama: FakeOllama!

    override func setUpWithError() throws {
        ollama = try FakeOllama(version: "0.12.6")
    }

    override func tearDown() {
        ollama.stop()
    }

    func testListShowsInstalledModelsWithOllamasDetails() throws {
        ollama.install(FakeOllamaModel(name: "llama3.2:1b", size: 1_321_098_329, digest: String(repeating: "ab", count: 32)))
        ollama.install(FakeOllamaModel(name: "qwen2.5:0.5b", size: 397_821_319, family: "qwen2", parameterSize: "494.03M",
                                       quantization: "Q4_K_M"))
        let server = try ModelPullProcess()
        server.request(1, "models/list", ["provider": "ollama", "baseUrl": ollama.baseURL])
        let models = try XCTUnwrap(server.response(to: 1).response?.resultObject?["models"] as? [[String: Any]])
        XCTAssertEqual(models.map { $0["model"] as? String }, ["llama3.2:1b", "qwen2.5:0.5b"])
        let llama = models[0]
        XCTAssertEqual(llama["provider"] as? String, "ollama")
        XCTAssertEqual((llama["sizeBytes"] as? NSNumber)?.int64Value, 1_321_098_329)
        XCTAssertEqual(llama["digest"] as? String, String(repeating: "ab", count: 32))
        XCTAssertEqual(llama["complete"] as? Bool, true)
        XCTAssertEqual(llama["modifiedAt"] as? String, "2025-01-30T14:12:44.123Z", "Go's nanoseconds and offset, in UTC")
        let details = try XCTUnwrap(models[1]["details"] as? [String: Any])
        XCTAssertEqual(details["family"] as? String, "qwen2")
        XCTAssertEqual(details["parameter_size"] as? String, "494.03M")
        XCTAssertEqual(details["quantization_level"] as? String, "Q4_K_M")
        XCTAssertEqual(details["format"] as? String, "gguf")
        XCTAssertEqual(details["families"] as? [String], ["qwen2"])
        XCTAssertNil(details["parent_model"], "empty fields are left out")
    }

    func testPulledModelAppearsInTheListAndDeleteRemovesIt() throws {
        ollama.setScenario(.typical(seed: 5), for: "smollm:135m")
        let server = try ModelPullProcess()
        XCTAssertNotNil(server.pull(1, "smollm:135m", from: ollama).result)

        server.request(2, "models/list", ["provider": "ollama", "baseUrl": ollama.baseURL])
        let listed = server.response(to: 2).response?.resultObject?["models"] as? [[String: Any]]
        XCTAssertEqual(listed?.compactMap { $0["model"] as? String }, ["smollm:135m"])

        server.request(3, "models/delete", ["provider": "ollama", "model": "smollm:135m", "baseUrl": ollama.baseURL])
        let deleted = try XCTUnwrap(server.response(to: 3).response?.resultObject)
        XCTAssertEqual(deleted["deleted"] as? Bool, true)
        XCTAssertEqual(ollama.installedNames, [])
        XCTAssertEqual((ollama.http.requests(to: "/api/delete").first?.bodyJSON as? [String: Any])?["model"] as? String, "smollm:135m")

        server.request(4, "models/delete", ["provider": "ollama", "model": "smollm:135m", "baseUrl": ollama.baseURL])
        let again = try XCTUnwrap(server.response(to: 4).response)
        XCTAssertEqual(again.errorCode, 1003)
        XCTAssertEqual(again.errorData?["kind"] as? String, "not_found")
        XCTAssertEqual(again.errorData?["provider"] as? String, "ollama")

        server.request(5, "models/delete", ["provider": "ollama", "model": "no good", "baseUrl": ollama.baseURL])
        XCTAssertEqual(server.response(to: 5).response?.errorData?["kind"] as? String, "invalid_model")
        XCTAssertEqual(ollama.http.requests(to: "/api/delete").count, 2, "an invalid name never reaches Ollama")
    }

    func testOLLAMA_HOSTIsReadLikeOllamaReadsIt() throws {
        // A server bound to 0.0.0.0 is reached on loopback, as `ollama` itself does it.
        ollama.install(FakeOllamaModel(name: "tinyllama:latest", size: 637_700_138))
        let server = try ModelPullProcess(environment: ["OLLAMA_HOST": " '0.0.0.0:\(ollama.http.port)' "])
        server.request(1, "models/list", ["provider": "ollama"])
        let models = server.response(to: 1).response?.resultObject?["models"] as? [[String: Any]]
        XCTAssertEqual(models?.first?["model"] as? String, "tinyllama:latest")

        server.request(2, "providers/list")
        let providers = try XCTUnwrap(server.response(to: 2).response?.resultObject?["providers"] as? [[String: Any]])
        let entry = try XCTUnwrap(providers.first { $0["name"] as? String == "ollama" })
        XCTAssertEqual(entry["available"] as? Bool, true)
        XCTAssertEqual(entry["version"] as? String, "0.12.6")
        XCTAssertEqual(entry["baseUrl"] as? String, "http://127.0.0.1:\(ollama.http.port)")

        ollama.setScenario(.typical(seed: 6), for: "env-pull:1")
        server.request(3, "models/download", ["provider": "ollama", "model": "env-pull:1"])
        let (notifications, response) = server.response(to: 3)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
    }

    func testWithoutAServerListingSaysHowToStartOllama() throws {
        let port = try closedLoopbackPort()
        let server = try ModelPullProcess(environment: ["OLLAMA_HOST": "127.0.0.1:\(port)"])
        server.request(1, "models/list", ["provider": "ollama"])
        let failed = try XCTUnwrap(server.response(to: 1).response)
        XCTAssertEqual(failed.errorCode, 1013)
        XCTAssertEqual(failed.errorData?["kind"] as? String, "provider_unavailable")
        XCTAssertTrue((failed.error?["message"] as? String ?? "").contains("`ollama serve`"), "\(failed)")

        server.request(2, "providers/list")
        let providers = server.response(to: 2).response?.resultObject?["providers"] as? [[String: Any]] ?? []
        let entry = try XCTUnwrap(providers.first { $0["name"] as? String == "ollama" })
        XCTAssertEqual(entry["available"] as? Bool, false)
        XCTAssertTrue((entry["reason"] as? String ?? "").contains("is Ollama running at http://127.0.0.1:\(port)"), "\(entry)")
        XCTAssertNil(entry["version"])

        server.request(3, "models/list")
        XCTAssertNotNil(server.response(to: 3).response?.resultObject, "asking every provider skips an absent Ollama")
    }
}
