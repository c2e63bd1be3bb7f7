import Foundation
import TestSupport
import XCTest

/// A registry pull writes what an Ollama server's own pull writes, and a running server sees it.
/// The server is `FakeOllamaOnStore`: a real store folder written and re-read by the rules of
/// Ollama's source, pulling from the same loopback registry ModelPull pulls from.
final class OllamaStoreParityTests: XCTestCase {
    private var registry: FakeOllamaRegistry!
    private var folder = ""

    override func setUpWithError() throws {
        registry = try FakeOllamaRegistry()
        folder = makeTemporaryDirectory(name)
    }

    override func tearDown() {
        registry?.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func pull(_ model: String, source: String, store: String, ollamaHost: String = "127.0.0.1:9",
                      environment: [String: String] = [:]) throws -> [String: Any] {
        let server = try ModelPullProcess(environment: ["OLLAMA_MODELS": store, "OLLAMA_HOST": ollamaHost].merging(environment) { $1 })
        server.request(1, "models/download", ["provider": "ollama", "model": "\(registry.host)/\(model)",
                                              "source": source, "insecure": true])
        let (notifications, response) = server.response(to: 1, timeout: 60)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        return try XCTUnwrap(response?.resultObject, response?.raw ?? "no response")
    }

    /// Every file Ollama reads (`manifests/*/*/*/*` and `blobs/sha256-*`) with its bytes and
    /// mode, and the mode of every folder on the way. ModelPull's own staging subfolder
    /// (`blobs/.modelpull`, which Ollama's garbage collection skips) is left out.
    private func snapshot(_ store: String) -> [String: String] {
        var found: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: store)
        while let relative = enumerator?.nextObject() as? String {
            if relative.hasPrefix("blobs/.modelpull") { continue }
            let attributes = (try? FileManager.default.attributesOfItem(atPath: store + "/" + relative)) ?? [:]
            let mode = String((attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1, radix: 8)
            if attributes[.type] as? FileAttributeType == .typeDirectory {
                found[relative + "/"] = mode
            } else {
                let bytes = FileManager.default.contents(atPath: store + "/" + relative) ?? Data()
                found[relative] = "\(mode) \(FakeOllamaRegistry.sha256(bytes))"
            }
        }
        return found
    }

    func testAServerPullAndARegistryPullLeaveByteIdenticalStores() throws {
        registry.addModel("parity", tag: "q8", layers: [TestBytes.make(count: 2_500_000, seed: 90),
                                                         Data("{{ .Prompt }}".utf8), Data(#"{"stop":["<|eot|>"]}"#.utf8)])
        let serverStore = folder + "/through-server"
        let ollama = try FakeOllamaOnStore(store: serverStore)
        defer { ollama.stop() }
        _ = try pull("library/parity:q8", source: "server", store: folder + "/unused", ollamaHost: ollama.host)
        let registryStore = folder + "/from-registry"
        _ = try pull("library/parity:q8", source: "registry", store: registryStore)

        let expected = snapshot(serverStore)
        XCTAssertEqual(expected.keys.filter { $0.hasPrefix("blobs/sha256-") }.count, 4, "config + 3 layers: \(expected.keys.sorted())")
        XCTAssertEqual(snapshot(registryStore), expected)
    }

    func testARunningServerListsAModelPulledFromTheRegistryWithoutARestart() throws {
        let store = folder + "/models"
        let ollama = try FakeOllamaOnStore(store: store)
        defer { ollama.stop() }
        XCTAssertEqual(ollama.askTags()?.count, 0)
        let manifest = registry.addModel("seen", layers: [TestBytes.make(count: 400_000, seed: 91)])
        // The server is up, but this pull goes around it, straight into its store.
        let result = try pull("library/seen", source: "registry", store: store, ollamaHost: ollama.host)
        XCTAssertEqual(result["revision"] as? String, FakeOllamaRegistry.sha256(manifest))

        // Ollama's /api/tags, asked over HTTP, now lists it with the manifest's digest as the id.
        let models = try XCTUnwrap(ollama.askTags())
        XCTAssertEqual(models.map { $0["name"] as? String }, ["\(registry.host)/library/seen:latest"])
        XCTAssertEqual(models.first?["digest"] as? String, FakeOllamaRegistry.sha256(manifest))

        // And models/list through that server (auto finds it) says the same.
        let client = try ModelPullProcess(environment: ["OLLAMA_MODELS": store, "OLLAMA_HOST": ollama.host])
        client.request(2, "models/list", ["provider": "ollama"])
        let listed = try XCTUnwrap(client.response(to: 2).response?.resultObject?["models"] as? [[String: Any]])
        XCTAssertEqual(listed.compactMap { $0["model"] as? String }, ["\(registry.host)/library/seen:latest"])
    }

    /// A tag pulled again after it moved: the new layers in, the old ones no manifest names
    /// removed, as Ollama's pull removes them; `OLLAMA_NOPRUNE` keeps them, as it does there.
    func testARetaggedModelPrunesTheOldLayersUnlessNoPrune() throws {
        let old = TestBytes.make(count: 300_000, seed: 92)
        let kept = Data("shared template".utf8)
        registry.addModel("moving", layers: [old, kept])
        let store = folder + "/models"
        _ = try pull("library/moving", source: "registry", store: store)
        let oldPath = "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(old))"
        XCTAssertTrue(FileManager.default.fileExists(atPath: oldPath))

        let new = TestBytes.make(count: 300_000, seed: 93)
        registry.addModel("moving", layers: [new, kept])
        _ = try pull("library/moving", source: "registry", store: store)
        XCTAssertFalse(FileManager.default.fileExists(atPath: oldPath), "the replaced layer is gone")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(kept))"),
                      "a layer the new manifest still names stays")

        let newer = TestBytes.make(count: 300_000, seed: 94)
        registry.addModel("moving", layers: [newer, kept])
        _ = try pull("library/moving", source: "registry", store: store, environment: ["OLLAMA_NOPRUNE": "1"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(new))"),
                      "OLLAMA_NOPRUNE keeps the old layer")
    }

    /// `hf.co/<user>/<repo>:<quant>` is a name whose host serves Ollama manifests: the user is the
    /// namespace, the quantization the tag, and the store keeps all four parts as given.
    func testAHuggingFaceShapedNameLandsUnderItsUserAndQuantization() throws {
        let gguf = TestBytes.make(count: 700_000, seed: 95)
        registry.addModel(namespace: "bartowski", "Llama-3.2-1B-Instruct-GGUF", tag: "Q4_K_M", layers: [gguf])
        let store = folder + "/models"
        let result = try pull("bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", source: "registry", store: store)
        let manifest = "\(store)/manifests/\(registry.host)/bartowski/Llama-3.2-1B-Instruct-GGUF/Q4_K_M"
        XCTAssertEqual(result["path"] as? String, manifest)
        XCTAssertTrue(FileManager.default.fileExists(atPath: manifest))
        XCTAssertEqual(FileManager.default.contents(atPath: "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(gguf))"), gguf)
        let agents = registry.registry.requests.compactMap { $0.header("User-Agent") }
        XCTAssertFalse(agents.isEmpty)
        XCTAssertTrue(agents.allSatisfy { $0.hasPrefix("ollama/") && $0.contains("modelpull/") },
                      "the registry is asked as Ollama asks it, so it answers what Ollama stores: \(agents)")
    }

    /// The command a person types, with no Ollama server anywhere: pull, list, rm on the store.
    func testTheCommandLinePullsListsAndRemovesWithoutAServer() throws {
        let weights = TestBytes.make(count: 900_000, seed: 96)
        registry.addModel("cli", tag: "1b", layers: [weights])
        let store = folder + "/models"
        func run(_ arguments: [String]) throws -> (stdout: String, stderr: String, status: Int32?) {
            let process = try ModelPullProcess(arguments: arguments, environment: ["OLLAMA_MODELS": store, "OLLAMA_HOST": "127.0.0.1:9"],
                                               recordTranscript: false)
            process.closeStdin()
            var lines: [String] = []
            while let line = process.nextLine(timeout: 60) { lines.append(line) }
            return (lines.joined(separator: "\n"), process.stderrText, process.waitForExit(timeout: 10))
        }
        let name = "\(registry.host)/library/cli:1b"
        let pulled = try run(["pull", "ollama", name, "--insecure"])
        XCTAssertEqual(pulled.status, 0, pulled.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(weights))"), weights)
        XCTAssertTrue(pulled.stderr.contains("without a server"), pulled.stderr)

        let listed = try run(["list", "ollama"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains(name), listed.stdout)
        let removed = try run(["rm", "ollama", name])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(store)/manifests/\(registry.host)/library/cli/1b"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(weights))"))
    }
}
