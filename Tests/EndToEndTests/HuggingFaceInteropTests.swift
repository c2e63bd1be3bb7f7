import Foundation
import TestSupport
import XCTest

/// ModelPull and the real Python huggingface_hub on the same cache, both ways, through the fake
/// Hub. Skipped when `python3` cannot import huggingface_hub, except under CI (`CI` set), where a
/// missing library is a failure: the check must not silently stop running.
final class HuggingFaceInteropTests: HuggingFaceTestCase {
    private static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Interop/hf_interop.py").path

    override func setUpWithError() throws {
        try super.setUpWithError()
        let probe = Self.python(["-c", "import huggingface_hub"], environment: [:])
        guard probe.status == 0 else {
            let reason = "python3 cannot import huggingface_hub (\(probe.stderr.split(separator: "\n").last ?? "")); install it with `pip install huggingface_hub`"
            if ProcessInfo.processInfo.environment["CI"] != nil {
                throw InteropUnavailable(description: "CI is set and the interop check cannot run: \(reason)")
            }
            throw XCTSkip("Skipping the huggingface_hub interop tests: \(reason).")
        }
    }

    func testHuggingFaceHubLoadsWhatModelPullDownloadedOffline() throws {
        let weights = TestBytes.make(count: 300_000, seed: 71)
        let tiny = fake.addRepo("acme/tiny", files: [
            .text("config.json", #"{"model_type": "llama"}"#),
            .text("tokenizer/tokenizer.json", #"{"version": "1.0"}"#),
            .regular("empty.txt", Data()),
            .lfs("model.safetensors", weights),
        ])
        let mlxCommit = fake.addRepo("mlx-community/tiny-4bit", files: [
            .text("config.json", "{}"), .lfs("model.safetensors", TestBytes.make(count: 50_000, seed: 72)),
            .text("README.md", "# card"), .lfs("pytorch_model.bin", TestBytes.make(count: 10_000, seed: 73)),
        ])
        let pr = fake.addCommit("acme/tiny", files: [.text("config.json", #"{"model_type": "pr"}"#)], branch: "refs/pr/1")

        let server = try launch()
        download(server, id: 1, params("acme/tiny"))
        download(server, id: 2, params("mlx-community/tiny-4bit", provider: "mlx"))
        download(server, id: 3, params("acme/tiny", ["revision": "refs/pr/1"]))
        // What an interrupted download leaves behind (a partial and its ranges record) must not
        // upset huggingface_hub either.
        let partial = repoFolder("acme/tiny") + "/blobs/\(String(repeating: "ab", count: 32)).modelpull.partial"
        try Data("partial".utf8).write(to: URL(fileURLWithPath: partial))
        try Data(#"{"size":7,"done":{"ranges":[[0,3]]}}"#.utf8).write(to: URL(fileURLWithPath: partial + ".ranges"))

        let manifest: [String: Any] = ["repos": [
            entry("acme/tiny", revision: "main", commit: tiny, paths: ["config.json", "tokenizer/tokenizer.json", "empty.txt", "model.safetensors"]),
            entry("mlx-community/tiny-4bit", revision: "main", commit: mlxCommit, paths: ["config.json", "model.safetensors"],
                  allow: ["*.json", "model*.safetensors"]),
            entry("acme/tiny", revision: "refs/pr/1", commit: pr, paths: ["config.json"]),
        ]]
        let manifestPath = root + "/manifest.json"
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestPath))

        fake.stop()  // offline for real: nothing may come from the Hub now
        let run = Self.python([Self.script, "verify", "--cache", cache, "--manifest", manifestPath],
                              environment: pythonEnvironment(offline: true))
        XCTAssertEqual(run.status, 0, "stdout: \(run.stdout)\nstderr: \(run.stderr)")
        XCTAssertTrue(run.stdout.contains("\"checkedFiles\": 7"), run.stdout)
    }

    func testModelPullReusesWhatHuggingFaceHubDownloadedWithoutAByte() throws {
        let commit = fake.addRepo("acme/shared", files: [
            .text("config.json", #"{"hidden_size": 8}"#),
            .text("nested/special_tokens_map.json", "{}"),
            .lfs("model.safetensors", TestBytes.make(count: 400_000, seed: 74)),
        ])
        let run = Self.python([Self.script, "download", "--cache", cache, "--repo", "acme/shared"],
                              environment: pythonEnvironment(offline: false))
        XCTAssertEqual(run.status, 0, "stdout: \(run.stdout)\nstderr: \(run.stderr)")
        XCTAssertGreaterThan(fake.cdn.bodyBytesSent, 0, "huggingface_hub fetched the LFS file from the CDN")
        fake.cdn.resetByteCounters()
        fake.hub.resetByteCounters()

        let server = try launch()
        let result = try XCTUnwrap(download(server, params("acme/shared")).response?.resultObject)
        XCTAssertEqual(result["revision"] as? String, commit)
        XCTAssertEqual(number(result["bytesDownloaded"]), 0)
        XCTAssertEqual(number(result["bytesReused"]), Int64(400_000 + 18 + 2))
        XCTAssertEqual(fake.cdn.bodyBytesSent, 0, "not a byte from the CDN")
        XCTAssertTrue(fake.hub.bodyBytesSentByPath.keys.allSatisfy { $0.hasPrefix("/api/models/") },
                      "only the listing calls: \(fake.hub.bodyBytesSentByPath)")
    }

    /// ModelPull keeps the listing in `trees/{commit}.json` as huggingface_hub 2.4 does, so
    /// Python's own offline mode tells an incomplete ModelPull snapshot from a complete one.
    func testHuggingFaceHubSeesAnIncompleteModelPullSnapshotThroughTheTreeCache() throws {
        let commit = fake.addRepo("acme/partial", files: [.text("config.json", "{}"),
                                                           .lfs("model.safetensors", TestBytes.make(count: 200_000, seed: 75))])
        download(try launch(), params("acme/partial", ["include": ["config.json"]]))
        fake.stop()
        func verdict(_ allow: [String]) throws -> [String: Any] {
            let run = Self.python([Self.script, "offline-snapshot", "--cache", cache, "--repo", "acme/partial"] + allow.flatMap { ["--allow", $0] },
                                  environment: pythonEnvironment(offline: true))
            XCTAssertEqual(run.status, 0, run.stderr)
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout + run.stderr)
        }
        let whole = try verdict([])
        XCTAssertEqual(whole["error"] as? String, "IncompleteSnapshotError", "\(whole)")
        XCTAssertTrue((whole["message"] as? String ?? "").contains("model.safetensors"), "\(whole)")
        let selected = try verdict(["config.json"])
        XCTAssertEqual((selected["path"] as? String).map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path },
                       URL(fileURLWithPath: snapshot("acme/partial", commit)).resolvingSymlinksInPath().path, "\(selected)")
    }

    /// On a filesystem that refuses symbolic links (here: a preload library that makes
    /// `symlink` fail with EPERM, as exFAT does), snapshot entries are the files themselves, as
    /// huggingface_hub makes them there; a second download reuses them, and huggingface_hub,
    /// under the same refusal, loads them offline. `HF_HUB_DISABLE_SYMLINKS=1` asks for the same.
    func testACacheOnAFilesystemWithoutSymlinksHoldsFilesBothToolsUse() throws {
        #if !os(Linux)
        throw XCTSkip("the symlink-refusing shim is an LD_PRELOAD library (Linux)")
        #endif
        guard let shim = SymlinkRefusingShim.build(in: root) else {
            if ProcessInfo.processInfo.environment["CI"] != nil { return XCTFail("no C compiler to build the symlink-refusing shim") }
            throw XCTSkip("no C compiler to build the symlink-refusing shim")
        }
        let weights = TestBytes.make(count: 300_000, seed: 76)
        let commit = fake.addRepo("acme/nolinks", files: [.text("config.json", "{}"), .text("sub/tokenizer.json", #"{"v":1}"#),
                                                           .lfs("model.safetensors", weights)])
        for (label, environment) in [("refused", ["LD_PRELOAD": shim]), ("disabled", ["HF_HUB_DISABLE_SYMLINKS": "1"])] {
            let cacheHere = root + "/cache-" + label
            let first = try XCTUnwrap(download(try launch(environment), params("acme/nolinks", ["cacheDir": cacheHere])).response?.resultObject)
            let folder = cacheHere + "/models--acme--nolinks/snapshots/\(commit)"
            XCTAssertEqual(first["path"] as? String, folder)
            for path in ["config.json", "sub/tokenizer.json", "model.safetensors"] {
                let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/" + path)
                XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeRegular, "\(label): \(path) is the file itself")
            }
            XCTAssertEqual(contents(folder + "/model.safetensors"), weights, label)
            fake.cdn.resetByteCounters()
            let second = try XCTUnwrap(download(try launch(environment), params("acme/nolinks", ["cacheDir": cacheHere])).response?.resultObject)
            XCTAssertEqual(number(second["bytesDownloaded"]), 0, "\(label): the files in the snapshot are reused")
            XCTAssertEqual(fake.cdn.bodyBytesSent, 0, label)
        }

        var python = pythonEnvironment(offline: true)
        python["LD_PRELOAD"] = shim
        let run = Self.python([Self.script, "offline-snapshot", "--cache", root + "/cache-refused", "--repo", "acme/nolinks"], environment: python)
        let verdict = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout + run.stderr)
        let folder = try XCTUnwrap(verdict["path"] as? String, "\(verdict)")
        XCTAssertEqual(contents(folder + "/model.safetensors"), weights)
    }

    // MARK: Helpers

    private func entry(_ repo: String, revision: String, commit: String, paths: [String], allow: [String]? = nil) -> [String: Any] {
        var files: [String: String] = [:]
        for path in paths { files[path] = fake.file(repo, path, revision: revision).sha256 }
        return ["repo": repo, "revision": revision, "commit": commit, "files": files, "allow": allow ?? NSNull()]
    }

    private func pythonEnvironment(offline: Bool) -> [String: String] {
        var env = Self.isolatedEnvironment
        env["HF_HOME"] = hfHome
        env["HF_ENDPOINT"] = fake.endpoint
        env["HF_HUB_OFFLINE"] = offline ? "1" : "0"
        env["HF_HUB_DISABLE_TELEMETRY"] = "1"
        env["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        env["HF_HUB_DISABLE_XET"] = "1"
        return env
    }

    private static func python(_ arguments: [String], environment: [String: String]) -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment {
            if value.isEmpty { env.removeValue(forKey: key) } else { env[key] = value }
        }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { return (127, "", "cannot run python3: \(error)") }
        // Read both pipes while it runs so a chatty process cannot fill one and block.
        let errData = ErrorCollector(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), errData.text())
    }
}

/// Under CI a missing huggingface_hub fails the test (a thrown setUp error) instead of skipping it.
private struct InteropUnavailable: Error, CustomStringConvertible {
    var description: String
}

/// Drains a pipe on its own thread.
private final class ErrorCollector: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
