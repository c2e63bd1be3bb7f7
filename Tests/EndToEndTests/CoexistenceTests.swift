import Foundation
import TestSupport
import XCTest

/// Several downloaders on one huggingface_hub cache at the same time: two `modelpull`
/// processes, and `modelpull` beside Python's huggingface_hub. They coordinate through the
/// `.locks/models--…/{etag}.lock` flock that huggingface_hub also takes, so every blob crosses
/// the network once, both sides succeed, and the cache holds exactly the listed bytes.
///
/// The Python half needs `python3` with huggingface_hub: skipped without it, except under CI
/// (`CI` set), where that is a failure.
final class CoexistenceTests: HuggingFaceTestCase {
    private static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Interop/hf_interop.py").path

    private func addRepo(_ id: String, seed: UInt64) -> [FakeHubFile] {
        let files: [FakeHubFile] = [
            .text("config.json", #"{"model_type": "llama"}"#),
            .text("tokenizer/tokenizer.json", #"{"version": "\#(seed)"}"#),
            .lfs("model-00001.safetensors", TestBytes.make(count: 1_500_000, seed: seed)),
            .lfs("model-00002.safetensors", TestBytes.make(count: 1_000_000, seed: seed + 1)),
        ]
        fake.addRepo(id, files: files)
        return files
    }

    /// Every file of the snapshot holds the listed bytes (SHA-256 by `sha256sum`), and nothing
    /// temporary is left anywhere in the cache.
    private func assertCacheHolds(_ repo: String, _ files: [FakeHubFile], file: StaticString = #filePath, line: UInt = #line) {
        let folder = snapshot(repo, fake.commit(repo) ?? "")
        for item in files {
            let data = contents(folder + "/" + item.path) ?? Data()
            XCTAssertEqual(ExternalDigest.sha256(data), fake.file(repo, item.path).sha256, "\(repo)/\(item.path)", file: file, line: line)
        }
        XCTAssertEqual(contents(repoFolder(repo) + "/refs/main"), Data((fake.commit(repo) ?? "").utf8), file: file, line: line)
        XCTAssertEqual(HubReliabilityTests.temporaryFiles(under: cache), [], "temporary files left", file: file, line: line)
        XCTAssertEqual(Set(listing(repoFolder(repo) + "/blobs")), Set(files.map { fake.file(repo, $0.path).etag }),
                       "only verified blobs", file: file, line: line)
    }

    private func lfsBytesFromCDN(_ repo: String, _ files: [FakeHubFile]) -> [Int] {
        files.filter(\.lfs).map { fake.cdn.bodyBytesSent(path: fake.cdnPath(fake.file(repo, $0.path))) }
    }

    func testTwoProcessesDownloadingOneRepoIntoOneCacheFetchEveryByteOnce() throws {
        let files = addRepo("acme/shared", seed: 100)
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 2_000_000), for: .prefix("/repos/"), times: .always)
        let first = try launch()
        let second = try launch()
        // At the same moment, so both plan before either has a blob and then meet at the locks.
        first.request(1, "models/download", params("acme/shared"))
        second.request(1, "models/download", params("acme/shared"))
        let (firstEvents, firstResponse) = first.response(to: 1, timeout: 60)
        let (secondEvents, secondResponse) = second.response(to: 1, timeout: 60)
        ProgressRules.check(firstEvents, response: firstResponse, expectTerminal: "complete")
        ProgressRules.check(secondEvents, response: secondResponse, expectTerminal: "complete")
        let results = try [firstResponse, secondResponse].map { try XCTUnwrap($0?.resultObject) }
        XCTAssertEqual(results[0]["path"] as? String, results[1]["path"] as? String)

        let total = Int64(files.reduce(0) { $0 + $1.data.count })
        let downloaded = results.compactMap { number($0["bytesDownloaded"]) }.reduce(0, +)
        XCTAssertEqual(downloaded, total, "every byte crossed the network once, in one process or the other")
        XCTAssertEqual(lfsBytesFromCDN("acme/shared", files), files.filter(\.lfs).map(\.data.count), "each blob was fetched once")
        let waited = (firstEvents + secondEvents).contains { ($0.params?["message"] as? String ?? "").contains("Waiting for another process") }
        XCTAssertTrue(waited, "one process waited at a lock the other held")
        assertCacheHolds("acme/shared", files)
    }

    /// A fleet on one shared filesystem: eight modelpull processes and huggingface_hub start on
    /// one cache together. Each file crosses the network once; everyone else waits at its lock
    /// (and says so) and reuses it; nobody fails; no file is torn.
    func testEightProcessesAndHuggingFaceHubOnOneCacheFetchEachFileOnce() throws {
        try requirePython()
        let files = addRepo("acme/fleet", seed: 130)
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 1_500_000), for: .prefix("/repos/"), times: .always)
        let servers = try (0..<8).map { _ in try launch() }
        for server in servers { server.request(1, "models/download", params("acme/fleet")) }
        let python = try PythonRun([Self.script, "download", "--cache", cache, "--repo", "acme/fleet"], environment: pythonEnvironment())
        var waited = 0
        for server in servers {
            let (events, response) = server.response(to: 1, timeout: 120)
            ProgressRules.check(events, response: response, expectTerminal: "complete")
            if events.contains(where: { ($0.params?["message"] as? String ?? "").contains("Waiting for another process") }) { waited += 1 }
        }
        let run = python.wait()
        XCTAssertEqual(run.status, 0, "stdout: \(run.stdout)\nstderr: \(run.stderr)")
        XCTAssertEqual(lfsBytesFromCDN("acme/fleet", files), files.filter(\.lfs).map(\.data.count), "each blob crossed the network once")
        XCTAssertGreaterThan(waited, 0, "the waiting was visible in progress")
        assertCacheHolds("acme/fleet", files)
    }

    /// A lock held by a process that died never blocks: flock ends with its holder, and the bytes
    /// it had (its partial file and `.ranges` record) are resumed by the next one.
    func testALockHeldByAKilledProcessDoesNotBlockAndItsBytesAreResumed() throws {
        let files = addRepo("acme/orphan", seed: 140)
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 500_000), for: .prefix("/repos/"), times: .always)
        let holder = try launch(recordTranscript: false)
        holder.request(1, "models/download", params("acme/orphan"))
        let big = fake.cdnPath(fake.file("acme/orphan", "model-00001.safetensors"))
        let deadline = Date().addingTimeInterval(20)
        while fake.cdn.bodyBytesSent(path: big) < 400_000, Date() < deadline { usleep(20_000) }
        holder.signal(SIGKILL)
        _ = holder.waitForExit(timeout: 5)
        fake.cdn.faults.removeAll()

        let next = try launch()
        let (events, response) = download(next, params("acme/orphan"))
        let result = try XCTUnwrap(response?.resultObject)
        XCTAssertGreaterThan(number(result["bytesReused"]) ?? 0, 0, "the dead process's bytes were resumed")
        XCTAssertFalse(events.contains { ($0.params?["message"] as? String ?? "").contains("Waiting for another process") },
                       "nobody waits for a dead holder")
        assertCacheHolds("acme/orphan", files)
    }

    func testManyProcessesLinkingTheSameSnapshotAtOnceAllSucceed() throws {
        // Every blob is already in the cache (from another commit), so all that is left is
        // making snapshot links: several processes race to create the same ones.
        let files = (0..<16).map { FakeHubFile.text("shard-\($0).json", "{\"n\": \($0)}") }
        let first = fake.addRepo("acme/links", files: files)
        let warm = try launch()
        download(warm, params("acme/links"))
        let commit = fake.addCommit("acme/links", sameFilesAs: first, branch: "v2")
        let servers = try (0..<6).map { _ in try launch() }
        for server in servers { server.request(1, "models/download", params("acme/links", ["revision": "v2"])) }
        for server in servers {
            let (events, response) = server.response(to: 1, timeout: 60)
            ProgressRules.check(events, response: response, expectTerminal: "complete")
            XCTAssertEqual(response?.resultObject?["revision"] as? String, commit, "\(String(describing: response))")
        }
        for item in files {
            XCTAssertEqual(contents(snapshot("acme/links", commit) + "/" + item.path), item.data)
        }
        XCTAssertEqual(listing(snapshot("acme/links", commit)).count, files.count)
    }

    // MARK: Beside huggingface_hub

    func testModelPullAndHuggingFaceHubOnOneCacheAtOnceBothSucceedAndFetchEveryBlobOnce() throws {
        try requirePython()
        // Slow enough that the second downloader always arrives while the first holds the locks
        // (huggingface_hub takes most of a second just to start).
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 1_000_000), for: .prefix("/repos/"), times: .always)

        // Python first: modelpull arrives while huggingface_hub holds the blob locks.
        let pythonFirst = addRepo("acme/python-first", seed: 110)
        let python = try PythonRun([Self.script, "download", "--cache", cache, "--repo", "acme/python-first"], environment: pythonEnvironment())
        XCTAssertTrue(waitForCDNRequest(fake.cdnPath(fake.file("acme/python-first", "model-00001.safetensors"))), "huggingface_hub started")
        let server = try launch()
        let (events, response) = download(server, params("acme/python-first"))
        let result = try XCTUnwrap(response?.resultObject)
        let run = python.wait()
        XCTAssertEqual(run.status, 0, "stdout: \(run.stdout)\nstderr: \(run.stderr)")
        XCTAssertTrue(events.contains { ($0.params?["message"] as? String ?? "").contains("Waiting for another process") },
                      "modelpull waited for huggingface_hub's lock")
        XCTAssertGreaterThanOrEqual(number(result["bytesReused"]) ?? 0, 2_500_000, "and then used its blobs")
        XCTAssertEqual(lfsBytesFromCDN("acme/python-first", pythonFirst), pythonFirst.filter(\.lfs).map(\.data.count))
        assertCacheHolds("acme/python-first", pythonFirst)

        // modelpull first: huggingface_hub arrives while modelpull holds the blob locks.
        let modelPullFirst = addRepo("acme/modelpull-first", seed: 120)
        server.request(2, "models/download", params("acme/modelpull-first"))
        var early: [WireMessage] = []
        while let message = server.nextMessage(timeout: 20) {
            early.append(message)
            if message.params?["file"] as? String == "model-00001.safetensors", number(message.params?["downloadedBytes"]) ?? 0 > 100_000 { break }
        }
        let second = try PythonRun([Self.script, "download", "--cache", cache, "--repo", "acme/modelpull-first"], environment: pythonEnvironment())
        let (rest, response2) = server.response(to: 2, timeout: 60)
        ProgressRules.check(early + rest, response: response2, expectTerminal: "complete")
        let run2 = second.wait()
        XCTAssertEqual(run2.status, 0, "stdout: \(run2.stdout)\nstderr: \(run2.stderr)")
        XCTAssertEqual(lfsBytesFromCDN("acme/modelpull-first", modelPullFirst), modelPullFirst.filter(\.lfs).map(\.data.count),
                       "huggingface_hub waited for modelpull's lock and then used its blobs")
        assertCacheHolds("acme/modelpull-first", modelPullFirst)

        // And huggingface_hub loads both offline from what the two wrote together.
        let manifest: [String: Any] = ["repos": [("acme/python-first", pythonFirst), ("acme/modelpull-first", modelPullFirst)].map { repo, files in
            ["repo": repo, "revision": "main", "commit": fake.commit(repo)!, "allow": NSNull(),
             "files": Dictionary(uniqueKeysWithValues: files.map { ($0.path, fake.file(repo, $0.path).sha256) })] as [String: Any]
        }]
        let manifestPath = root + "/manifest.json"
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestPath))
        let verify = try PythonRun([Self.script, "verify", "--cache", cache, "--manifest", manifestPath], environment: pythonEnvironment(offline: true)).wait()
        XCTAssertEqual(verify.status, 0, "stdout: \(verify.stdout)\nstderr: \(verify.stderr)")
    }

    // MARK: Helpers

    private func waitForCDNRequest(_ path: String, timeout: TimeInterval = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while fake.cdn.requests(to: path).isEmpty {
            if Date() > deadline { return false }
            usleep(20_000)
        }
        return true
    }

    private func pythonEnvironment(offline: Bool = false) -> [String: String] {
        var env = Self.isolatedEnvironment
        env["HF_HOME"] = hfHome
        env["HF_ENDPOINT"] = fake.endpoint
        env["HF_HUB_OFFLINE"] = offline ? "1" : "0"
        env["HF_HUB_DISABLE_TELEMETRY"] = "1"
        env["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        env["HF_HUB_DISABLE_XET"] = "1"
        return env
    }

    private func requirePython() throws {
        let probe = try PythonRun(["-c", "import huggingface_hub"], environment: [:]).wait()
        guard probe.status == 0 else {
            let reason = "python3 cannot import huggingface_hub (\(probe.stderr.split(separator: "\n").last ?? "")); install it with `pip install huggingface_hub`"
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("CI is set and the coexistence check cannot run: \(reason)")
                throw PythonUnavailable()
            }
            throw XCTSkip("Skipping the huggingface_hub coexistence test: \(reason).")
        }
    }
}

private struct PythonUnavailable: Error {}

/// `python3` running beside the test, its output collected on threads of its own.
private final class PythonRun: @unchecked Sendable {
    private let process = Process()
    private let done = DispatchGroup()
    private var out = Data()
    private var err = Data()

    init(_ arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment {
            if value.isEmpty { env.removeValue(forKey: key) } else { env[key] = value }
        }
        process.environment = env
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        try process.run()
        for (handle, isOut) in [(outPipe.fileHandleForReading, true), (errPipe.fileHandleForReading, false)] {
            done.enter()
            Thread.detachNewThread { [self] in
                let data = handle.readDataToEndOfFile()
                if isOut { out = data } else { err = data }
                done.leave()
            }
        }
    }

    func wait() -> (status: Int32, stdout: String, stderr: String) {
        done.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}
