import Foundation
import TestSupport
import XCTest

/// Which files a request fetches: include/exclude globs, GGUF quant tags, the mlx file set.
final class HuggingFaceSelectionTests: HuggingFaceTestCase {
    private func fetchedPaths(_ model: String, provider: String = "huggingface", _ extra: [String: Any] = [:],
                              id: Int = 1, server: ModelPullProcess) throws -> [String] {
        let result = try XCTUnwrap(download(server, id: id, params(model, provider: provider, extra)).response?.resultObject)
        return try XCTUnwrap(result["files"] as? [[String: Any]]).compactMap { $0["path"] as? String }
    }

    private func addGGUFRepo() {
        let blob = { (seed: UInt64) in TestBytes.make(count: 2_000, seed: seed) }
        fake.addRepo("acme/llm-GGUF", files: [
            .text("README.md", "# quants"),
            .lfs("Llama-3-8B-Q8_0.gguf", blob(1)),
            .lfs("Llama-3-8B-IQ4_XS.gguf", blob(2)),
            .lfs("Llama-3-8B-Q4_K_M.gguf", blob(3)),
            .lfs("Llama-3-8B-Q4_K_S.gguf", blob(4)),
            .lfs("mmproj-Llama-3-8B-f16.gguf", blob(5)),
            .lfs("Q5_K_M/Llama-3-8B-Q5_K_M-00001-of-00003.gguf", blob(6)),
            .lfs("Q5_K_M/Llama-3-8B-Q5_K_M-00002-of-00003.gguf", blob(7)),
            .lfs("Q5_K_M/Llama-3-8B-Q5_K_M-00003-of-00003.gguf", blob(8)),
        ])
    }

    func testQuantTagSelectsOneFileCaseInsensitively() throws {
        addGGUFRepo()
        let server = try launch()
        XCTAssertEqual(try fetchedPaths("acme/llm-GGUF:Q8_0", id: 1, server: server), ["Llama-3-8B-Q8_0.gguf"])
        XCTAssertEqual(try fetchedPaths("acme/llm-GGUF:iq4_xs", id: 2, server: server), ["Llama-3-8B-IQ4_XS.gguf"])
        XCTAssertEqual(try fetchedPaths("acme/llm-GGUF:Q4_K_S", id: 3, server: server), ["Llama-3-8B-Q4_K_S.gguf"],
                       "Q4_K_S does not pick Q4_K_M")
    }

    func testSplitGGUFBringsEveryShard() throws {
        addGGUFRepo()
        let server = try launch()
        XCTAssertEqual(try fetchedPaths("acme/llm-GGUF:Q5_K_M", server: server),
                       (1...3).map { "Q5_K_M/Llama-3-8B-Q5_K_M-0000\($0)-of-00003.gguf" })
    }

    func testNoTagPrefersQ4KMThenQ8ThenTheFirst() throws {
        addGGUFRepo()
        fake.addRepo("acme/q8-only", files: [.lfs("m-Q8_0.gguf", Data("a".utf8)), .lfs("m-F16.gguf", Data("b".utf8))])
        fake.addRepo("acme/odd-quants", files: [.lfs("m-Q6_K.gguf", Data("a".utf8)), .lfs("m-F16.gguf", Data("b".utf8)),
                                                .text("config.json", "{}")])
        let server = try launch()
        XCTAssertEqual(try fetchedPaths("acme/llm-GGUF", id: 1, server: server), ["Llama-3-8B-Q4_K_M.gguf"])
        XCTAssertEqual(try fetchedPaths("acme/q8-only", id: 2, server: server), ["m-Q8_0.gguf"])
        XCTAssertEqual(try fetchedPaths("acme/odd-quants", id: 3, server: server), ["m-F16.gguf"], "the first GGUF by path")
    }

    func testUnknownTagListsTheAvailableQuants() throws {
        addGGUFRepo()
        let server = try launch()
        let response = try XCTUnwrap(download(server, params("acme/llm-GGUF:Q2_K"), expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "not_found")
        let available = try XCTUnwrap((response.errorData?["details"] as? [String: Any])?["available"] as? [String])
        XCTAssertEqual(Set(available), ["IQ4_XS", "Q4_K_M", "Q4_K_S", "Q5_K_M", "Q8_0"], "no mmproj, shards listed once")
        let message = response.error?["message"] as? String ?? ""
        XCTAssertTrue(message.contains("Q4_K_M") && message.contains("Q2_K"), message)
        XCTAssertEqual(fake.cdn.requestCount, 0)
    }

    func testIncludeAndExcludeUseFnmatchSemantics() throws {
        fake.addRepo("acme/mixed", files: [
            .text("config.json", "{}"), .text("sub/deep/extra.json", "{}"), .text("Upper.JSON", "{}"),
            .lfs("model.safetensors", Data("w".utf8)), .lfs("onnx/model.onnx", Data("o".utf8)), .text("onnx/config.json", "{}"),
        ])
        let server = try launch()
        XCTAssertEqual(try fetchedPaths("acme/mixed", ["include": ["*.json"]], id: 1, server: server),
                       ["config.json", "onnx/config.json", "sub/deep/extra.json"], "'*' matches '/', matching is case-sensitive")
        XCTAssertEqual(try fetchedPaths("acme/mixed", ["exclude": ["onnx/", "*.JSON"]], id: 2, server: server),
                       ["config.json", "model.safetensors", "sub/deep/extra.json"], "a trailing '/' excludes a folder")
        XCTAssertEqual(try fetchedPaths("acme/mixed", ["include": ["[cm]*"], "exclude": ["*.safetensors"]], id: 3, server: server),
                       ["config.json"])

        let response = try XCTUnwrap(download(server, id: 4, params("acme/mixed", ["include": ["*.bin"]]), expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "not_found")
        XCTAssertTrue((response.error?["message"] as? String ?? "").contains("*.bin"))
    }

    func testMLXFetchesTheFilesMLXLMLoads() throws {
        fake.addRepo("mlx-community/Tiny-4bit", files: [
            .text("config.json", "{}"), .text("tokenizer.json", "{}"), .text("model.safetensors.index.json", "{}"),
            .lfs("model-00001-of-00002.safetensors", Data("a".utf8)), .lfs("model-00002-of-00002.safetensors", Data("b".utf8)),
            .lfs("tokenizer.model", Data("t".utf8)), .text("chat_template.jinja", "{{ x }}"), .text("added_tokens.txt", "x"),
            .text("README.md", "# card"), .lfs("pytorch_model.bin", Data("p".utf8)), .lfs("original/consolidated.pth", Data("c".utf8)),
            .text(".gitattributes", "*.safetensors filter=lfs"),
        ])
        let server = try launch()
        XCTAssertEqual(try fetchedPaths("mlx-community/Tiny-4bit", provider: "mlx", server: server), [
            "added_tokens.txt", "chat_template.jinja", "config.json", "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors", "model.safetensors.index.json", "tokenizer.json", "tokenizer.model",
        ])
    }

    func testMLXRefusesARepoWithoutSafetensorsWeights() throws {
        fake.addRepo("acme/gguf-only", files: [.text("config.json", "{}"), .lfs("m-Q4_K_M.gguf", Data("g".utf8))])
        let server = try launch()
        let response = try XCTUnwrap(download(server, params("acme/gguf-only", provider: "mlx"), expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "not_found")
        let message = response.error?["message"] as? String ?? ""
        XCTAssertTrue(message.contains("no MLX weights"), message)
        XCTAssertTrue(message.contains("'huggingface'"), "points at the provider that fits: \(message)")
    }

    func testSafetensorsRepoWithoutTagDownloadsEverything() throws {
        fake.addRepo("acme/both", files: [.text("config.json", "{}"), .lfs("model.safetensors", Data("w".utf8)),
                                          .lfs("extra-Q4_K_M.gguf", Data("g".utf8))])
        let server = try launch()
        XCTAssertEqual(try fetchedPaths("acme/both", server: server), ["config.json", "extra-Q4_K_M.gguf", "model.safetensors"])
    }
}
