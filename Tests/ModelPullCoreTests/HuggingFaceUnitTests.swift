import Foundation
@testable import ModelPullCore
import TestSupport
import XCTest

/// The Hub provider's pure pieces, against known answers (Python's fnmatch, llama.cpp's naming,
/// huggingface_hub's id and environment rules, `git hash-object`).
final class HuggingFaceUnitTests: XCTestCase {
    func testGlobsMatchLikePythonFnmatchcase() {
        // Expected values printed by Python's fnmatch.fnmatchcase (with a trailing '/' → '/*').
        let cases: [(String, String, Bool)] = [
            ("*.json", "config.json", true), ("*.json", "sub/deep/a.json", true), ("*.json", "a.JSON", false),
            ("model*.safetensors", "model-00001-of-00002.safetensors", true), ("model*.safetensors", "sub/model.safetensors", false),
            ("?.txt", "a.txt", true), ("?.txt", "ab.txt", false), ("[abc]*", "bert", true), ("[!abc]*", "bert", false),
            ("[!abc]*", "dog", true), ("[a-c]x", "bx", true), ("[a-c]x", "dx", false), ("[]]x", "]x", true), ("[x", "[x", true),
            ("*", "any/thing", true), ("sub/*", "sub/a/b", true), ("sub/", "sub/a", true), ("*.gguf", "x.gguf.part", false),
            ("tokenizer.model", "tokenizer.model", true), ("*a*b*c", "xaybzc", true), ("*a*b*c", "xaybzcd", false), ("**", "", true),
        ]
        for (pattern, path, expected) in cases {
            XCTAssertEqual(HubGlob(pattern).matches(path), expected, "\(pattern) vs \(path)")
        }
        let filter = HubFileFilter(allow: ["*.json", "*.safetensors"], ignore: ["onnx/"])
        XCTAssertTrue(filter.accepts("config.json"))
        XCTAssertFalse(filter.accepts("onnx/config.json"))
        XCTAssertFalse(filter.accepts("README.md"))
    }

    func testGGUFTagMatchingAndSplits() {
        XCTAssertTrue(GGUFSelector.matches("Llama-Q4_K_M.gguf", tag: "q4_k_m"))
        XCTAssertFalse(GGUFSelector.matches("Llama-Q4_K_M.gguf", tag: "Q4_K"), "a tag is a whole word")
        XCTAssertFalse(GGUFSelector.matches("Llama-IQ4_XS.gguf", tag: "Q4_XS"))
        XCTAssertTrue(GGUFSelector.matches("Q5_K_M/model-00001-of-00002.gguf", tag: "Q5_K_M"))
        XCTAssertEqual(GGUFSelector.splitInfo("a/Big-Q5_K_M-00002-of-00003.gguf")?.prefix, "a/Big-Q5_K_M")
        XCTAssertEqual(GGUFSelector.splitInfo("a/Big-Q5_K_M-00002-of-00003.gguf")?.count, "00003")
        XCTAssertNil(GGUFSelector.splitInfo("Big-Q5_K_M.gguf"))
        XCTAssertEqual(GGUFSelector.quantLabel("dir/Llama-3.2-1B-Instruct-Q4_K_M.gguf"), "Q4_K_M")
        XCTAssertEqual(GGUFSelector.quantLabel("Big-Q5_K_M-00001-of-00003.gguf"), "Q5_K_M")
        XCTAssertEqual(GGUFSelector.quantLabel("model.Q8_0.gguf"), "Q8_0")
    }

    func testModelReferencesFollowHubRepoIdRules() throws {
        let plain = try HubModelReference(parsing: "mlx-community/Llama-3.2-1B-Instruct-4bit", provider: "mlx")
        XCTAssertEqual(plain.repoId, "mlx-community/Llama-3.2-1B-Instruct-4bit")
        XCTAssertNil(plain.quantTag)
        let tagged = try HubModelReference(parsing: "bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", provider: "huggingface")
        XCTAssertEqual(tagged.repoId, "bartowski/Llama-3.2-1B-Instruct-GGUF")
        XCTAssertEqual(tagged.quantTag, "Q4_K_M")
        XCTAssertEqual(try HubModelReference(parsing: "gpt2", provider: "huggingface").repoId, "gpt2", "the owner is optional, as in huggingface_hub")
        XCTAssertEqual(try HubModelReference(parsing: "bert-base-uncased", provider: "huggingface").repoId, "bert-base-uncased")
        for bad in ["", "/", "-gpt2", "gpt2.", "a/b/c", "/name", "org/", "org/na--me", "org/na..me", "org/-x", "org/x.", "org/x.git",
                    "org/na me", "org/name:", "org/name:Q4 K", "org/\(String(repeating: "x", count: 97))"] {
            XCTAssertThrowsError(try HubModelReference(parsing: bad, provider: "huggingface"), bad) { error in
                XCTAssertEqual((error as? DownloadFailure)?.kind, .invalidModel)
            }
        }
        XCTAssertNoThrow(try HubRevision.validate("refs/pr/1"))
        XCTAssertThrowsError(try HubRevision.validate("../main"))
        XCTAssertThrowsError(try HubRevision.validate("/main"))
    }

    func testLinkHeaderNextPage() {
        XCTAssertEqual(HubTreePage.nextLink(#"<https://hf.co/api/models/a/b/tree/c?cursor=x&recursive=true>; rel="next""#),
                       "https://hf.co/api/models/a/b/tree/c?cursor=x&recursive=true")
        XCTAssertEqual(HubTreePage.nextLink(#"<https://x/prev>; rel="prev", <https://x/next>; rel="next""#), "https://x/next")
        XCTAssertNil(HubTreePage.nextLink(#"<https://x/prev>; rel="prev""#))
    }

    func testCacheAndTokenLocationsFollowHuggingFaceHub() throws {
        let home = ["HOME": "/home/u"]
        func cache(_ variables: [String: String], override: String? = nil) -> String {
            HubCacheLocation.hubCache(ProcessEnvironment(home.merging(variables) { $1 }), override: override)
        }
        XCTAssertEqual(cache([:]), "/home/u/.cache/huggingface/hub")
        XCTAssertEqual(cache(["XDG_CACHE_HOME": "/x"]), "/x/huggingface/hub")
        XCTAssertEqual(cache(["XDG_CACHE_HOME": "/x", "HF_HOME": "~/hf"]), "/home/u/hf/hub")
        XCTAssertEqual(cache(["HF_HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/legacy"]), "/legacy")
        XCTAssertEqual(cache(["HF_HUB_CACHE": "$DATA/hub", "DATA": "/data", "HUGGINGFACE_HUB_CACHE": "/legacy"]), "/data/hub")
        XCTAssertEqual(cache(["HF_HUB_CACHE": "/data/hub"], override: "~/mine"), "/home/u/mine")
        XCTAssertEqual(HubCacheLocation.tokenFile(ProcessEnvironment(["HOME": "/home/u", "HF_HOME": "/h"])), "/h/token")

        let directory = NSTemporaryDirectory() + "hf-token-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "  hf_file\r\n".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        let base = ["HF_HOME": directory]
        XCTAssertEqual(HubSettings.token("hf_param", ProcessEnvironment(base.merging(["HF_TOKEN": "hf_env"]) { $1 })), "hf_param")
        XCTAssertEqual(HubSettings.token(nil, ProcessEnvironment(base.merging(["HF_TOKEN": "hf_env", "HUGGING_FACE_HUB_TOKEN": "hf_old"]) { $1 })), "hf_env")
        XCTAssertEqual(HubSettings.token(nil, ProcessEnvironment(base.merging(["HUGGING_FACE_HUB_TOKEN": "hf_old"]) { $1 })), "hf_old")
        XCTAssertEqual(HubSettings.token(nil, ProcessEnvironment(base)), "hf_file")
        XCTAssertNil(HubSettings.token(nil, ProcessEnvironment(base.merging(["HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"]) { $1 })))
    }

    func testHubErrorsBecomeKindsThatSayWhatToDo() {
        let context = HubErrorContext(model: "acme/x", revision: "main", endpoint: URL(string: "https://huggingface.co")!,
                                      authenticated: false)
        var withToken = context
        withToken.authenticated = true
        func kind(_ status: Int, _ code: String?, _ context: HubErrorContext) -> ErrorKind {
            HubFailures.map(status: status, headers: HTTPHeaders(code.map { ["X-Error-Code": $0] } ?? [:]), body: Data(), context: context).kind
        }
        XCTAssertEqual(kind(401, "GatedRepo", context), .gated)
        XCTAssertEqual(kind(403, "GatedRepo", withToken), .gated)
        XCTAssertEqual(kind(401, "RepoNotFound", context), .authRequired)
        XCTAssertEqual(kind(404, "RepoNotFound", withToken), .notFound)
        XCTAssertEqual(kind(404, "RevisionNotFound", context), .notFound)
        XCTAssertEqual(kind(404, "EntryNotFound", context), .notFound)
        XCTAssertEqual(kind(401, nil, withToken), .authRequired)
        XCTAssertEqual(kind(403, nil, withToken), .accessDenied)
        XCTAssertEqual(kind(429, nil, context), .rateLimited)
        XCTAssertEqual(kind(503, nil, context), .upstream)
        let gated = HubFailures.map(status: 401, headers: HTTPHeaders(["X-Error-Code": "GatedRepo"]), body: Data(), context: context)
        XCTAssertTrue(gated.message.contains("https://huggingface.co/acme/x"), gated.message)
    }

    func testFileSinkComputesTheGitBlobIdAcrossAResumeAndARestart() async throws {
        let data = TestBytes.make(count: 300_000, seed: 9)
        let path = NSTemporaryDirectory() + "hf-sink-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try PartialFile(path: path)
        let sink = FileSink(file: first, digest: .gitBlobSHA1(byteCount: Int64(data.count)))
        try sink.append(data.prefix(100_000))
        await sink.stopHashing()
        first.close()

        let resumed = try PartialFile(path: path)
        let again = FileSink(file: resumed, digest: .gitBlobSHA1(byteCount: Int64(data.count)))
        XCTAssertEqual(again.length, 100_000)
        try again.append(data.dropFirst(100_000))
        let digest = try await again.finishDigest()
        XCTAssertEqual(digest?.hex, ExternalDigest.gitBlobId(data))

        // A restart (the server sent the whole file instead of a range) hashes from byte 0 again.
        let restarted = try PartialFile(path: path + "-restart")
        defer { try? FileManager.default.removeItem(atPath: path + "-restart") }
        let third = FileSink(file: restarted, digest: .sha256)
        try third.append(Data(repeating: 7, count: 5_000_000))
        try third.restart()
        try third.append(data)
        let sha = try await third.finishDigest()
        XCTAssertEqual(sha?.hex, ExternalDigest.sha256(data))
    }
}
