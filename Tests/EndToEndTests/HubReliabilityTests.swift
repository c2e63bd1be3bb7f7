import Foundation
import TestSupport
import XCTest

/// Faults, crashes, full disks and the process lifecycle with `provider: "huggingface"`: the
/// binary, the fake Hub and its CDN, a real cache on disk. Whatever happens, a blob exists only
/// with its listed digest, a snapshot entry only for such a blob, and interrupted bytes are
/// resumed rather than fetched again.
final class HubReliabilityTests: HuggingFaceTestCase {
    private let weights = TestBytes.make(count: 1_500_000, seed: 81)

    @discardableResult
    private func addRepo(_ id: String = "acme/tiny", weights: Data? = nil) -> String {
        fake.addRepo(id, files: [
            .text("config.json", #"{"model_type": "llama"}"#),
            .text("tokenizer/tokenizer.json", #"{"version": "1.0"}"#),
            .lfs("model.safetensors", weights ?? self.weights),
        ])
    }

    private func blob(_ repo: String, _ file: FakeHubStoredFile) -> String {
        repoFolder(repo) + "/blobs/" + file.etag
    }

    private func partial(_ repo: String, _ file: FakeHubStoredFile) -> String {
        repoFolder(repo) + "/blobs/" + file.etag + ".modelpull.partial"
    }

    private func size(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
    }

    /// Whether anything (even a dangling link) is at `path`.
    private func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Reads until a progress event shows more than `bytes` downloaded of `file`.
    private func waitForProgress(_ server: ModelPullProcess, file: String, beyond bytes: Int64) {
        while let message = server.nextMessage(timeout: 20) {
            if message.params?["file"] as? String == file, number(message.params?["downloadedBytes"]) ?? 0 > bytes { return }
        }
        XCTFail("no progress beyond \(bytes) bytes of \(file); stderr: \(server.stderrText)")
    }

    /// The snapshot holds exactly the listed bytes (SHA-256 by `sha256sum`, not by ModelPull).
    private func assertSnapshotMatches(_ repo: String, _ paths: [String], file: StaticString = #filePath, line: UInt = #line) {
        let commit = fake.commit(repo) ?? ""
        for path in paths {
            let stored = fake.file(repo, path)
            let data = contents(snapshot(repo, commit) + "/" + path) ?? Data()
            XCTAssertEqual(ExternalDigest.sha256(data), stored.sha256, "\(path) differs", file: file, line: line)
        }
    }

    /// Names of temporary files anywhere under `root` (ours, huggingface_hub's, atomic writes).
    static func temporaryFiles(under root: String) -> [String] {
        (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter { path in
            let name = (path as NSString).lastPathComponent
            return name.hasSuffix(".partial") || name.hasSuffix(".incomplete") || name.hasSuffix(".tmp")
                || name.hasPrefix(".modelpull-")
        }
    }

    // MARK: Case 1: transient faults on every route

    func testTransientFailuresOnEveryHubRouteAreRetriedToIdenticalBytes() throws {
        let commit = addRepo()
        let model = fake.file("acme/tiny", "model.safetensors")
        fake.hub.faults.add(.status(408), for: .prefix("/api/models/acme/tiny/revision/"))
        fake.hub.faults.addSequence([[.status(502)], [.status(504, retryAfter: "0")]], for: .prefix("/api/models/acme/tiny/tree/"))
        fake.hub.faults.add(.status(503, retryAfter: "0"), for: .path("/acme/tiny/resolve/\(commit)/model.safetensors"))
        fake.hub.faults.add(.status(500), for: .prefix("/api/resolve-cache/models/acme/tiny/\(commit)/config.json"))
        // Backoff is real (0.25 s, 0.5 s, …); a Retry-After of 0 keeps the rest of the test quick.
        fake.cdn.faults.addSequence([[.status(500)], [.status(429, retryAfter: "0")], [.status(408, retryAfter: "0")]], for: .path(fake.cdnPath(model)))
        let server = try launch()
        let result = try XCTUnwrap(download(server, params("acme/tiny")).response?.resultObject)
        XCTAssertEqual(result["revision"] as? String, commit)
        assertSnapshotMatches("acme/tiny", ["config.json", "tokenizer/tokenizer.json", "model.safetensors"])
        XCTAssertEqual(fake.hub.requests(matching: .prefix("/api/models/acme/tiny/revision/")).count, 2)
        XCTAssertEqual(fake.hub.requests(matching: .prefix("/api/models/acme/tiny/tree/")).count, 3)
        XCTAssertEqual(fake.cdn.requests(to: fake.cdnPath(model)).count, 4, "500, 429, 408, then the bytes")
        XCTAssertEqual(number(result["bytesDownloaded"]), Int64(weights.count + 23 + 18), "no byte counted twice")
    }

    func testStalledBlobIsDetectedAndResumedFromTheBytesReached() throws {
        addRepo()
        let model = fake.file("acme/tiny", "model.safetensors")
        fake.cdn.faults.add(.stall(afterBytes: 500_000, seconds: 30, then: .close), for: .path(fake.cdnPath(model)))
        let server = try launch()
        XCTAssertNotNil(download(server, params("acme/tiny", ["stallSeconds": 1])).response?.resultObject)
        let ranges = fake.cdn.requests(to: fake.cdnPath(model)).compactMap { $0.header("Range") }
        XCTAssertEqual(ranges.count, 2, "one stalled request, one resume: \(ranges)")
        XCTAssertEqual(ranges.last?.hasPrefix("bytes=500000-"), true, "\(ranges)")
        XCTAssertEqual(fake.cdn.bodyBytesSent(path: fake.cdnPath(model)), weights.count, "no byte was sent twice")
        assertSnapshotMatches("acme/tiny", ["model.safetensors"])
    }

    func testTruncatedBodiesAreNeverAccepted() throws {
        let commit = addRepo()
        let model = fake.file("acme/tiny", "model.safetensors")
        let config = fake.file("acme/tiny", "config.json")
        // A whole-file answer that is shorter than the listing, with a Content-Length to match.
        fake.cdn.faults.add(.respond(.bytes(weights.prefix(1_000_000))), for: .path(fake.cdnPath(model)), times: .always)
        fake.hub.faults.add(.respond(.bytes(config.data.prefix(5))), for: .prefix(fake.resolveCachePath("acme/tiny", config)), times: .always)
        let server = try launch()
        let response = try XCTUnwrap(download(server, params("acme/tiny"), expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "integrity", "\(response)")
        for file in [model, config] {
            XCTAssertFalse(exists(blob("acme/tiny", file)), "no blob for the truncated \(file.path)")
            XCTAssertFalse(exists(snapshot("acme/tiny", commit) + "/" + file.path), "no snapshot entry for \(file.path)")
        }
        server.request(2, "hello")
        XCTAssertNotNil(server.response(to: 2).response?.resultObject, "still serving")
    }

    // MARK: Case 1/2: failures that do not clear

    func testAFailureThatDoesNotClearKeepsTheBytesButShowsNothingThenResumes() throws {
        let commit = addRepo()
        let model = fake.file("acme/tiny", "model.safetensors")
        // 600 kB arrive, then the CDN fails for good (Retry-After 0 keeps the retries quick).
        fake.cdn.faults.addSequence([[.dropAfter(bytes: 600_000)]] + Array(repeating: [Fault.status(503, retryAfter: "0")], count: 10),
                                    for: .path(fake.cdnPath(model)))
        let server = try launch()
        let response = try XCTUnwrap(download(server, params("acme/tiny"), expect: "error").response)
        XCTAssertEqual(response.errorData?["retryable"] as? Bool, true, "\(response)")
        XCTAssertFalse(exists(blob("acme/tiny", model)), "no blob")
        XCTAssertFalse(exists(snapshot("acme/tiny", commit) + "/model.safetensors"), "no snapshot entry")
        XCTAssertNil(contents(repoFolder("acme/tiny") + "/refs/main"), "no ref to an incomplete snapshot")
        XCTAssertEqual(size(partial("acme/tiny", model)), 600_000, "the bytes that arrived are kept for resuming")

        fake.cdn.faults.removeAll()
        let before = fake.cdn.requests(to: fake.cdnPath(model)).count
        let result = try XCTUnwrap(download(server, id: 2, params("acme/tiny")).response?.resultObject)
        XCTAssertEqual(fake.cdn.requests(to: fake.cdnPath(model)).dropFirst(before).first?.header("Range"),
                       "bytes=600000-\(weights.count - 1)")
        XCTAssertGreaterThanOrEqual(number(result["bytesReused"]) ?? 0, 600_000)
        assertSnapshotMatches("acme/tiny", ["config.json", "tokenizer/tokenizer.json", "model.safetensors"])
        XCTAssertEqual(Self.temporaryFiles(under: cache), [])
    }

    func testWrongBytesInALocalDirLeaveNothingUnderTheFinalName() throws {
        addRepo()
        let model = fake.file("acme/tiny", "model.safetensors")
        fake.cdn.faults.add(.corrupt(offsets: [99_999]), for: .path(fake.cdnPath(model)), times: .always)
        let folder = root + "/local"
        var request = params("acme/tiny", ["localDir": folder])
        request.removeValue(forKey: "cacheDir")
        let server = try launch()
        let response = try XCTUnwrap(download(server, request, expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "integrity")
        XCTAssertFalse(exists(folder + "/model.safetensors"), "no file under the final name")
        XCTAssertFalse(exists(folder + "/.cache/huggingface/download/model.safetensors.metadata"), "no metadata vouching for it")
        XCTAssertEqual(Self.temporaryFiles(under: folder), [], "the bad bytes were deleted, not kept for resuming")
    }

    // MARK: Case 3: kill -9

    func testKill9MidSnapshotThenTheSameRequestCompletesIdenticallyWithoutTemporaryFiles() throws {
        let second = TestBytes.make(count: 1_200_000, seed: 82)
        fake.addRepo("acme/two", files: [
            .text("config.json", "{}"), .lfs("a.safetensors", weights), .lfs("b.safetensors", second),
        ])
        let folder = root + "/local"
        for destination in ["cache", "localDir"] {
            var request = params("acme/two")
            if destination == "localDir" {
                request.removeValue(forKey: "cacheDir")
                request["localDir"] = folder
            }
            fake.cdn.faults.add(.rateLimit(bytesPerSecond: 600_000), for: .prefix("/repos/"), times: .always)
            let first = try launch(recordTranscript: false)
            first.request(1, "models/download", request)
            waitForProgress(first, file: "a.safetensors", beyond: 300_000)
            first.signal(SIGKILL)
            XCTAssertNotNil(first.waitForExit())

            fake.cdn.faults.removeAll()
            fake.cdn.resetByteCounters()
            let rerun = try launch()
            let result = try XCTUnwrap(download(rerun, request).response?.resultObject, destination)
            XCTAssertGreaterThan(number(result["bytesReused"]) ?? 0, 300_000, "\(destination): the rerun resumed")
            XCTAssertLessThan(fake.cdn.bodyBytesSent, weights.count + second.count - 300_000, "\(destination): only the rest was fetched")
            let base = destination == "cache" ? snapshot("acme/two", fake.commit("acme/two")!) : folder
            for (path, data) in [("config.json", Data("{}".utf8)), ("a.safetensors", weights), ("b.safetensors", second)] {
                XCTAssertEqual(ExternalDigest.sha256(contents(base + "/" + path) ?? Data()), ExternalDigest.sha256(data), "\(destination): \(path)")
            }
            XCTAssertEqual(Self.temporaryFiles(under: destination == "cache" ? cache : folder), [], "\(destination): no temporary files")
        }
    }

    // MARK: Case 5: disk full

    private func mountSmallDisk(megabytes: Int) throws -> String {
        try mountSmallDisk(megabytes: megabytes, at: root + "/small-disk")
    }

    /// Writes zeros into `path` until the filesystem refuses another byte.
    private func fillDisk(with path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return XCTFail("cannot create \(path)") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 64 << 10)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    func testPreflightRefusesAHubDownloadThatCannotFitOnTheCacheDisk() throws {
        let disk = try mountSmallDisk(megabytes: 12)
        // 9 MiB plus the 8 MiB headroom cannot fit in 12; a small repo plus headroom can. (The
        // listing claims the size; no byte is served, so the bytes behind it do not matter.)
        fake.addRepo("acme/big", files: [.text("config.json", "{}"), .lfs("model.safetensors", Data("tiny".utf8), advertisedSize: 9 << 20)])
        fake.addRepo("acme/small", files: [.text("config.json", "{}")])
        let server = try launch()
        let response = try XCTUnwrap(download(server, params("acme/big", ["cacheDir": disk + "/hub"]), expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "disk_full")
        XCTAssertTrue((response.error?["message"] as? String ?? "").contains("Not enough disk space"), "\(response)")
        XCTAssertEqual(fake.cdn.requestCount, 0, "refused before a byte moved")
        XCTAssertFalse(exists(disk + "/hub/models--acme--big"), "nothing half-visible in the cache")

        let small = try XCTUnwrap(download(server, id: 2, params("acme/small", ["cacheDir": disk + "/hub"])).response?.resultObject)
        XCTAssertNotNil(small["path"], "still serving, and what fits still downloads")
    }

    func testTheDiskFillingUpMidBlobIsACleanDiskFullErrorAndTheRetryResumes() throws {
        let disk = try mountSmallDisk(megabytes: 24)
        let big = TestBytes.make(count: 6 << 20, seed: 84)
        let commit = fake.addRepo("acme/big", files: [.text("config.json", "{}"), .lfs("model.safetensors", big)])
        let model = fake.file("acme/big", "model.safetensors")
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 3 << 20), for: .path(fake.cdnPath(model)), times: .always)
        let cacheDir = disk + "/hub"
        let server = try launch()
        server.request(1, "models/download", params("acme/big", ["cacheDir": cacheDir]))
        var notifications: [WireMessage] = []
        while let message = server.nextMessage(timeout: 20) {
            notifications.append(message)
            if message.params?["file"] as? String == "model.safetensors", number(message.params?["downloadedBytes"]) ?? 0 > 1 << 20 { break }
        }
        // Another program takes every free byte while the blob is being written.
        let filler = disk + "/filler"
        fillDisk(with: filler)
        let (rest, response) = server.response(to: 1, timeout: 30)
        ProgressRules.check(notifications + rest, response: response, expectTerminal: "error")
        XCTAssertEqual(response?.errorData?["kind"] as? String, "disk_full", "\(String(describing: response))")
        XCTAssertFalse(exists(cacheDir + "/models--acme--big/blobs/\(model.etag)"), "no blob")
        XCTAssertFalse(exists(cacheDir + "/models--acme--big/snapshots/\(commit)/model.safetensors"), "no snapshot entry")
        server.request(2, "hello")
        XCTAssertNotNil(server.response(to: 2).response?.resultObject, "still serving")

        try FileManager.default.removeItem(atPath: filler)
        fake.cdn.faults.removeAll()
        let result = try XCTUnwrap(download(server, id: 3, params("acme/big", ["cacheDir": cacheDir])).response?.resultObject)
        XCTAssertGreaterThan(number(result["bytesReused"]) ?? 0, 1 << 20, "the bytes written before the disk filled are kept")
        XCTAssertEqual(ExternalDigest.sha256(contents(cacheDir + "/models--acme--big/snapshots/\(commit)/model.safetensors") ?? Data()), model.sha256)
    }

    // MARK: Case 9: lifecycle

    func testStdinEOFAndSIGTERMMidHubDownloadExitPromptlyWithAResumablePartial() throws {
        let big = TestBytes.make(count: 3 << 20, seed: 85)
        let commit = addRepo(weights: big)
        let model = fake.file("acme/tiny", "model.safetensors")
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 1 << 20), for: .path(fake.cdnPath(model)), times: .always)
        var kept = 0
        for way in ["stdin EOF", "SIGTERM"] {
            let server = try launch()
            server.request(1, "models/download", params("acme/tiny"))
            waitForProgress(server, file: "model.safetensors", beyond: Int64(kept + 200_000))
            if way == "SIGTERM" { server.signal(SIGTERM) } else { server.closeStdin() }
            XCTAssertEqual(server.response(to: 1).response?.errorData?["kind"] as? String, "cancelled", way)
            XCTAssertEqual(server.waitForExit(timeout: 2.5), 0, "\(way): exits 0 promptly")
            let partialSize = size(partial("acme/tiny", model)) ?? 0
            XCTAssertGreaterThan(partialSize, kept, "\(way): the partial grew and stays for resuming")
            kept = partialSize
            XCTAssertFalse(exists(blob("acme/tiny", model)), way)
            XCTAssertFalse(exists(snapshot("acme/tiny", commit) + "/model.safetensors"), way)
        }
        fake.cdn.faults.removeAll()
        let before = fake.cdn.requests(to: fake.cdnPath(model)).count
        let result = try XCTUnwrap(download(try launch(), params("acme/tiny")).response?.resultObject)
        XCTAssertGreaterThanOrEqual(number(result["bytesReused"]) ?? 0, Int64(kept))
        XCTAssertEqual(fake.cdn.requests(to: fake.cdnPath(model)).dropFirst(before).first?.header("Range"), "bytes=\(kept)-\(big.count - 1)")
        assertSnapshotMatches("acme/tiny", ["model.safetensors"])
    }

    func testParentDeathMidHubDownloadEndsTheChildAndKeepsAResumablePartial() throws {
        let big = TestBytes.make(count: 3 << 20, seed: 86)
        let commit = addRepo(weights: big)
        let model = fake.file("acme/tiny", "model.safetensors")
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 1 << 20), for: .path(fake.cdnPath(model)), times: .always)
        var environment = Self.isolatedEnvironment
        environment["HF_HOME"] = hfHome
        environment["HF_ENDPOINT"] = fake.endpoint
        let orphan = try OrphanableServer(environment: environment)
        orphan.request(1, "models/download", params("acme/tiny"))
        var moving = false
        while let message = orphan.nextMessage(timeout: 20) {
            if message.params?["file"] as? String == "model.safetensors", number(message.params?["downloadedBytes"]) ?? 0 > 300_000 {
                moving = true
                break
            }
        }
        XCTAssertTrue(moving, "the download was under way")
        orphan.killParent()
        XCTAssertTrue(orphan.waitForChildExit(timeout: 5), "modelpull outlived its parent")
        let sentAtExit = fake.cdn.bodyBytesSent(path: fake.cdnPath(model))
        Thread.sleep(forTimeInterval: 0.3)
        // The server may count one more rate-limited slice that was in its hands when the socket
        // closed; a transfer that went on would add ~300 KB in 0.3 s at 1 MB/s.
        XCTAssertLessThanOrEqual(fake.cdn.bodyBytesSent(path: fake.cdnPath(model)) - sentAtExit, 64 << 10,
                                 "the transfer stopped with the process")
        let kept = size(partial("acme/tiny", model)) ?? 0
        XCTAssertGreaterThan(kept, 0)
        XCTAssertFalse(exists(snapshot("acme/tiny", commit) + "/model.safetensors"))

        fake.cdn.faults.removeAll()
        let result = try XCTUnwrap(download(try launch(), params("acme/tiny")).response?.resultObject)
        XCTAssertGreaterThanOrEqual(number(result["bytesReused"]) ?? 0, Int64(kept), "resumed: the lock died with the process")
        assertSnapshotMatches("acme/tiny", ["model.safetensors"])
    }
}
