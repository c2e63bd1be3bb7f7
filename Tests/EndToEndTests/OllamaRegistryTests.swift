import Foundation
import TestSupport
import XCTest

/// `source: "registry"`: an Ollama model pulled with no Ollama server, from a loopback registry
/// whose blobs redirect to a second loopback "CDN", into a store laid out as Ollama lays it out.
final class OllamaRegistryTests: XCTestCase {
    private var fake: FakeOllamaRegistry!
    private var store = ""

    override func setUpWithError() throws {
        fake = try FakeOllamaRegistry()
        store = makeTemporaryDirectory(name) + "/models"
    }

    override func tearDown() {
        fake?.stop()
        try? FileManager.default.removeItem(atPath: (store as NSString).deletingLastPathComponent)
    }

    private func launch() throws -> ModelPullProcess {
        try ModelPullProcess(environment: ["OLLAMA_MODELS": store, "OLLAMA_HOST": "127.0.0.1:9"])
    }

    private func pull(_ server: ModelPullProcess, id: Int, _ model: String, expect: String = "complete")
        -> (notifications: [WireMessage], response: WireMessage?) {
        server.request(id, "models/download", ["provider": "ollama", "model": "\(fake.host)/library/\(model)",
                                               "source": "registry", "insecure": true])
        let (notifications, response) = server.response(to: id, timeout: 60)
        ProgressRules.check(notifications, response: response, expectTerminal: expect)
        return (notifications, response)
    }

    private func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func testAPublicModelLandsInTheStoreExactlyAsOllamaWritesIt() throws {
        let weights = TestBytes.make(count: 3_000_000, seed: 80)
        let template = Data("{{ .Prompt }}".utf8)
        let manifest = fake.addModel("tiny", tag: "q4", layers: [weights, template])
        let server = try launch()
        let (notifications, response) = pull(server, id: 1, "tiny:q4")
        let result = try XCTUnwrap(response?.resultObject, response?.raw ?? "")
        let manifestPath = "\(store)/manifests/\(fake.host)/library/tiny/q4"
        XCTAssertEqual(result["path"] as? String, manifestPath)
        XCTAssertEqual(FileManager.default.contents(atPath: manifestPath), manifest, "the manifest bytes as the registry sent them")
        XCTAssertEqual(mode(manifestPath), 0o644)
        let config = Data(#"{"model_format":"gguf","model_family":"llama"}"#.utf8)
        for blob in [weights, template, config] {
            let path = "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(blob))"
            XCTAssertEqual(FileManager.default.contents(atPath: path), blob, path)
            XCTAssertEqual(mode(path), 0o644)
        }
        let staged = (try? FileManager.default.contentsOfDirectory(atPath: store + "/blobs/.modelpull")) ?? []
        XCTAssertEqual(staged, [], "nothing staged is left behind")
        let total = weights.count + template.count + config.count
        let events = ProgressRules.progressParams(notifications).filter { $0["status"] as? String == "downloading" }
        XCTAssertEqual(events.first?["totalBytes"] as? Int, total, "the total is known before the first byte")
        XCTAssertEqual(result["bytesDownloaded"] as? Int, total)
        XCTAssertGreaterThan(fake.cdn.bodyBytesSent(path: "/blobs/sha256-\(FakeOllamaRegistry.sha256(weights))"), 0,
                             "blobs come from the CDN the registry redirects to")
    }

    func testLayersAnotherModelAlreadyBroughtAreReused() throws {
        let shared = TestBytes.make(count: 2_000_000, seed: 81)
        fake.addModel("first", layers: [shared, Data("one".utf8)])
        fake.addModel("second", layers: [shared, Data("two".utf8)])
        let server = try launch()
        _ = pull(server, id: 1, "first")
        let sharedPath = "/blobs/sha256-\(FakeOllamaRegistry.sha256(shared))"
        let sentBefore = fake.cdn.bodyBytesSent(path: sharedPath)
        let result = try XCTUnwrap(pull(server, id: 2, "second").response?.resultObject)
        XCTAssertGreaterThanOrEqual(result["bytesReused"] as? Int ?? 0, shared.count)
        XCTAssertEqual(fake.cdn.bodyBytesSent(path: sharedPath), sentBefore, "the shared layer was not fetched again")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(store)/manifests/\(fake.host)/library/second/latest"))
    }

    func testACorruptLayerIsAnIntegrityErrorAndNoManifestIsWritten() throws {
        fake.addModel("broken", layers: [TestBytes.make(count: 1_000_000, seed: 82)], corruptLayer: 0)
        let server = try launch()
        let response = try XCTUnwrap(pull(server, id: 1, "broken", expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "integrity", response.raw)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(store)/manifests/\(fake.host)/library/broken/latest"))
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: store + "/blobs")) ?? []
        XCTAssertFalse(blobs.contains { $0.hasPrefix("sha256-") && $0.count > 71 }, "no blob under a partial name: \(blobs)")
    }

    func testAnUnknownTagIsNotFoundAndAPrivateModelNeedsASignIn() throws {
        fake.addModel("known", tag: "v1", layers: [Data("x".utf8)])
        fake.addModel("secret", layers: [Data("y".utf8)])
        fake.makePrivate("secret")
        let server = try launch()
        let missing = try XCTUnwrap(pull(server, id: 1, "known:v2", expect: "error").response)
        XCTAssertEqual(missing.errorData?["kind"] as? String, "not_found")
        XCTAssertTrue((missing.error?["message"] as? String ?? "").contains("known:v2"), missing.raw)
        let locked = try XCTUnwrap(pull(server, id: 2, "secret", expect: "error").response)
        XCTAssertEqual(locked.errorData?["kind"] as? String, "auth_required")
        XCTAssertTrue((locked.error?["message"] as? String ?? "").contains("source"), locked.raw)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store + "/manifests/\(fake.host)/library/known/v2"))
        // hf.co says it with a 400 and a sentence.
        fake.unknownTagAsHuggingFace = true
        let quant = try XCTUnwrap(pull(server, id: 3, "known:Q9_K", expect: "error").response)
        XCTAssertEqual(quant.errorData?["kind"] as? String, "not_found", quant.raw)
        XCTAssertTrue((quant.error?["message"] as? String ?? "").contains("tag is not available"), quant.raw)
    }

    func testASourceOutsideTheListIsInvalidParams() throws {
        let server = try launch()
        server.request(1, "models/download", ["provider": "ollama", "model": "llama3.2", "source": "cloud"])
        let response = try XCTUnwrap(server.response(to: 1).response)
        XCTAssertEqual(response.errorCode, -32602)
        XCTAssertEqual(response.errorData?["field"] as? String, "params.source")
    }

    /// kill -9 mid-layer, then the same pull: it resumes from the staged bytes and completes.
    func testAPullKilledMidLayerResumesFromTheBytesOnDisk() throws {
        let weights = TestBytes.make(count: 6_000_000, seed: 83)
        fake.addModel("big", layers: [weights])
        let path = "/blobs/sha256-\(FakeOllamaRegistry.sha256(weights))"
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 500_000), for: .path(path), times: .always)
        let first = try ModelPullProcess(environment: ["OLLAMA_MODELS": store], recordTranscript: false)
        first.request(1, "models/download", ["provider": "ollama", "model": "\(fake.host)/library/big",
                                              "source": "registry", "insecure": true])
        let deadline = Date().addingTimeInterval(20)
        while fake.cdn.bodyBytesSent(path: path) < 1_500_000, Date() < deadline { usleep(20_000) }
        first.signal(SIGKILL)
        _ = first.waitForExit(timeout: 5)
        fake.cdn.faults.removeAll()
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(store)/manifests/\(fake.host)/library/big/latest"),
                       "no manifest before every blob is in place")

        let second = try launch()
        let result = try XCTUnwrap(pull(second, id: 1, "big").response?.resultObject)
        XCTAssertGreaterThan(result["bytesReused"] as? Int ?? 0, 0, "the staged bytes were resumed")
        XCTAssertEqual(FileManager.default.contents(atPath: "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(weights))"), weights)
    }

    /// `auto` with no server answering pulls from the registry.
    func testAutoPullsFromTheRegistryWhenNoServerAnswers() throws {
        fake.addModel("auto", layers: [Data("weights".utf8)])
        let server = try launch()
        server.request(1, "models/download", ["provider": "ollama", "model": "\(fake.host)/library/auto",
                                              "source": "auto", "insecure": true])
        let (notifications, response) = server.response(to: 1, timeout: 60)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(store)/manifests/\(fake.host)/library/auto/latest"))
        // `auto` is the default: the same without saying so.
        fake.addModel("default", layers: [Data("more weights".utf8)])
        server.request(2, "models/download", ["provider": "ollama", "model": "\(fake.host)/library/default", "insecure": true])
        XCTAssertEqual(server.response(to: 2, timeout: 60).response?.resultObject?["status"] as? String, "complete")
    }

    /// Neither a server nor the registry answers: provider_unavailable saying both.
    func testWhenNeitherAServerNorTheRegistryAnswersBothAreNamed() throws {
        let closed = try LoopbackHTTPServer { _ in .notFound() }
        let port = closed.port
        closed.stop()
        let server = try launch()
        server.request(1, "models/download", ["provider": "ollama", "model": "127.0.0.1:\(port)/library/nothing", "insecure": true])
        let response = try XCTUnwrap(server.response(to: 1, timeout: 90).response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "provider_unavailable", response.raw)
        let message = response.error?["message"] as? String ?? ""
        XCTAssertTrue(message.contains("ollama serve") && message.contains("registry"), message)
    }

    /// A store that cannot hold the model fails before any byte, with no manifest.
    func testAFullDiskIsDiskFullAndNoManifest() throws {
        let disk = try mountSmallDisk(megabytes: 1, at: makeTemporaryDirectory(name + "-disk") + "/mnt")
        store = disk + "/models"
        fake.addModel("huge", layers: [TestBytes.make(count: 3_000_000, seed: 84)])
        let server = try launch()
        let response = try XCTUnwrap(pull(server, id: 1, "huge", expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "disk_full", response.raw)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(store)/manifests/\(fake.host)/library/huge/latest"))
    }

    /// With no server answering, models/list reads the store and models/delete removes a model
    /// and only the blobs no other model uses.
    func testListAndDeleteWorkOnTheStoreWithoutAServer() throws {
        let shared = TestBytes.make(count: 500_000, seed: 85)
        let own = Data("only the first uses this".utf8)
        fake.addModel("first", layers: [shared, own])
        fake.addModel("second", layers: [shared, Data("second's own".utf8)])
        let server = try launch()
        _ = pull(server, id: 1, "first")
        _ = pull(server, id: 2, "second")

        server.request(3, "models/list", ["provider": "ollama"])
        let models = try XCTUnwrap(server.response(to: 3).response?.resultObject?["models"] as? [[String: Any]])
        XCTAssertEqual(models.compactMap { $0["model"] as? String }.sorted(),
                       ["\(fake.host)/library/first:latest", "\(fake.host)/library/second:latest"])
        XCTAssertTrue(models.allSatisfy { $0["complete"] as? Bool == true })

        server.request(4, "models/delete", ["provider": "ollama", "model": "\(fake.host)/library/first"])
        let deleted = try XCTUnwrap(server.response(to: 4).response?.resultObject)
        XCTAssertEqual(deleted["deleted"] as? Bool, true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(store)/manifests/\(fake.host)/library/first/latest"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(own))"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(shared))"),
                      "a blob the other model names stays")
    }
}
