import Foundation
import TestSupport
import XCTest

/// `provider: "huggingface"` end to end: the binary, the fake Hub and CDN, a real cache on disk.
final class HuggingFaceDownloadTests: HuggingFaceTestCase {
    private let weights = TestBytes.make(count: 1_500_000, seed: 31)

    @discardableResult
    private func addTinyRepo(_ access: FakeHubAccess = .open) -> String {
        fake.addRepo("acme/tiny", files: [
            .text("config.json", #"{"model_type": "llama"}"#),
            .text("tokenizer/tokenizer.json", #"{"version": "1.0"}"#),
            .regular("empty.txt", Data()),
            .lfs("model.safetensors", weights),
        ], access: access)
    }

    func testDownloadBuildsTheHubCacheLayoutAndReportsExactProgress() throws {
        let commit = addTinyRepo()
        let server = try launch()
        let (notifications, response) = download(server, params("acme/tiny"))
        let result = try XCTUnwrap(response?.resultObject, "\(String(describing: response))")

        XCTAssertEqual(result["path"] as? String, snapshot("acme/tiny", commit))
        XCTAssertEqual(result["revision"] as? String, commit)
        let total = Int64(["config.json", "tokenizer/tokenizer.json", "empty.txt", "model.safetensors"]
            .reduce(0) { $0 + fake.file("acme/tiny", $1).size })
        XCTAssertEqual(number(result["bytesDownloaded"]), total)
        XCTAssertEqual(number(result["bytesReused"]), 0)
        let files = try XCTUnwrap(result["files"] as? [[String: Any]])
        XCTAssertEqual(files.map { $0["path"] as? String }, ["config.json", "empty.txt", "model.safetensors", "tokenizer/tokenizer.json"])
        let model = fake.file("acme/tiny", "model.safetensors")
        XCTAssertEqual(files[2]["sha256"] as? String, model.sha256)
        XCTAssertNil(files[0]["sha256"], "regular files have no SHA-256 from the Hub")

        // refs/main: exactly the commit, no newline.
        XCTAssertEqual(contents(repoFolder("acme/tiny") + "/refs/main"), Data(commit.utf8))
        // Snapshot entries are relative links to blobs named by etag, holding the right bytes.
        for path in ["config.json", "empty.txt", "model.safetensors", "tokenizer/tokenizer.json"] {
            let stored = fake.file("acme/tiny", path)
            let link = snapshot("acme/tiny", commit) + "/" + path
            let depth = path.split(separator: "/").count - 1
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link),
                           String(repeating: "../", count: 2 + depth) + "blobs/" + stored.etag)
            XCTAssertEqual(contents(link), stored.data, path)
            XCTAssertTrue(FileManager.default.fileExists(atPath: cache + "/.locks/models--acme--tiny/\(stored.etag).lock"))
        }
        let blobs = listing(repoFolder("acme/tiny") + "/blobs")
        XCTAssertEqual(Set(blobs), Set(["config.json", "empty.txt", "model.safetensors", "tokenizer/tokenizer.json"]
            .map { fake.file("acme/tiny", $0).etag }), "only verified blobs, no partial files")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: cache)),
                       ["models--acme--tiny", ".locks", "CACHEDIR.TAG"], "no unknown folders in the cache root")

        // Totals are exact before the first byte moves.
        let events = ProgressRules.progressParams(notifications)
        let firstDownloading = try XCTUnwrap(events.first { $0["status"] as? String == "downloading" })
        XCTAssertEqual(number(firstDownloading["totalBytes"]), total)
        XCTAssertEqual(number(firstDownloading["filesTotal"]), 4)
        XCTAssertTrue(events.contains { $0["status"] as? String == "verifying" })
        XCTAssertEqual(number(events.last?["downloadedBytes"]), total)

        // LFS bytes come from the CDN, regular files through the Hub's relative 307.
        XCTAssertEqual(fake.cdn.bodyBytesSent(path: fake.cdnPath(model)), weights.count)
        XCTAssertFalse(fake.hub.requests(matching: .prefix("/api/resolve-cache/")).isEmpty)
    }

    func testSecondDownloadReusesTheCacheWithoutTransferringABlob() throws {
        let commit = addTinyRepo()
        let server = try launch()
        download(server, id: 1, params("acme/tiny"))
        fake.cdn.resetByteCounters()
        fake.hub.clearRequestLog()

        let (_, response) = download(server, id: 2, params("acme/tiny"))
        let result = try XCTUnwrap(response?.resultObject)
        XCTAssertEqual(result["revision"] as? String, commit)
        XCTAssertEqual(number(result["bytesDownloaded"]), 0)
        XCTAssertEqual(number(result["bytesReused"]), Int64(weights.count + 23 + 18))
        XCTAssertEqual(fake.cdn.bodyBytesSent, 0)
        XCTAssertTrue(fake.hub.requests(matching: .prefix("/acme/tiny/resolve/")).isEmpty, "no file was even asked for")
    }

    func testTokenReachesTheHubButNeverTheCDNOrTheOutput() throws {
        let token = "hf_readerSecret123"
        addTinyRepo(.restricted(readers: [token]))
        let server = try launch(arguments: ["--log-level", "debug"])
        let (notifications, response) = download(server, params("acme/tiny", ["token": token]))
        XCTAssertNotNil(response?.resultObject)

        let hubRequests = fake.hub.requests
        XCTAssertFalse(hubRequests.isEmpty)
        for request in hubRequests {
            XCTAssertEqual(request.header("Authorization"), "Bearer \(token)", "\(request.method) \(request.path)")
        }
        XCTAssertFalse(fake.cdn.requests.isEmpty, "the LFS file came from the CDN")
        XCTAssertTrue(fake.cdn.requests(withHeader: "Authorization").isEmpty, "the token never leaves the Hub's origin")
        for message in notifications + [response].compactMap({ $0 }) {
            XCTAssertFalse(message.raw.contains(token))
        }
        XCTAssertFalse(server.stderrText.contains(token))
    }

    func testTokenComesFromHFTokenThenTheTokenFile() throws {
        addTinyRepo(.restricted(readers: ["hf_fromEnv", "hf_fromFile"]))
        let fromEnv = try launch(["HF_TOKEN": "hf_fromEnv"])
        XCTAssertNotNil(download(fromEnv, params("acme/tiny")).response?.resultObject)
        XCTAssertEqual(fake.hub.requests.last?.header("Authorization"), "Bearer hf_fromEnv")

        try "hf_fromFile\n".write(toFile: hfHome + "/token", atomically: true, encoding: .utf8)
        fake.hub.clearRequestLog()
        let fromFile = try launch()
        XCTAssertNotNil(download(fromFile, params("acme/tiny")).response?.resultObject)
        XCTAssertEqual(fake.hub.requests.first?.header("Authorization"), "Bearer hf_fromFile", "trimmed, like Python")
    }

    func testDroppedConnectionResumesWithoutResendingBytes() throws {
        addTinyRepo()
        let model = fake.file("acme/tiny", "model.safetensors")
        fake.cdn.faults.add(.dropAfter(bytes: 700_000), for: .path(fake.cdnPath(model)))
        let server = try launch()
        let (_, response) = download(server, params("acme/tiny"))
        XCTAssertNotNil(response?.resultObject)
        XCTAssertEqual(fake.cdn.bodyBytesSent(path: fake.cdnPath(model)), weights.count, "the retry asked only for the rest")
        let ranges = fake.cdn.requests(to: fake.cdnPath(model)).compactMap { $0.header("Range") }
        XCTAssertEqual(ranges.last?.hasPrefix("bytes=700000-"), true, "\(ranges)")
    }

    func testAKilledDownloadResumesFromItsPartialFileInTheNextProcess() throws {
        addTinyRepo()
        let model = fake.file("acme/tiny", "model.safetensors")
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 400_000), for: .path(fake.cdnPath(model)))
        let first = try launch(recordTranscript: false)
        first.request(1, "models/download", params("acme/tiny"))
        while let message = first.nextMessage(timeout: 20) {
            if message.params?["file"] as? String == "model.safetensors", number(message.params?["downloadedBytes"]) ?? 0 > 400_000 { break }
        }
        first.signal(SIGKILL)
        _ = first.waitForExit()
        let partial = repoFolder("acme/tiny") + "/blobs/\(model.sha256).modelpull.partial"
        let kept = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: partial)[.size] as? NSNumber).intValue
        XCTAssertGreaterThan(kept, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("acme/tiny") + "/blobs/\(model.sha256)"))

        fake.cdn.faults.removeAll()
        let requestsBefore = fake.cdn.requests(to: fake.cdnPath(model)).count
        let second = try launch()
        let result = try XCTUnwrap(download(second, params("acme/tiny")).response?.resultObject)
        XCTAssertGreaterThanOrEqual(number(result["bytesReused"]) ?? 0, Int64(kept))
        let resumed = fake.cdn.requests(to: fake.cdnPath(model)).dropFirst(requestsBefore)
        XCTAssertEqual(resumed.first?.header("Range"), "bytes=\(kept)-\(weights.count - 1)", "only the missing bytes were asked for")
        XCTAssertEqual(resumed.count, 1)
        XCTAssertEqual(contents(snapshot("acme/tiny", fake.commit("acme/tiny")!) + "/model.safetensors"), weights)
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial), "the partial became the blob")
    }

    func testCorruptionIsRetriedOnceThenReportedWithoutTouchingTheCache() throws {
        let commit = addTinyRepo()
        let model = fake.file("acme/tiny", "model.safetensors")
        fake.cdn.faults.add(.corrupt(offsets: [1234]), for: .path(fake.cdnPath(model)), times: .always)
        let server = try launch()
        let (_, response) = download(server, params("acme/tiny"), expect: "error")
        XCTAssertEqual(response?.errorData?["kind"] as? String, "integrity")
        let details = try XCTUnwrap(response?.errorData?["details"] as? [String: Any])
        XCTAssertEqual(details["file"] as? String, "model.safetensors")
        XCTAssertEqual(details["expected"] as? String, model.sha256)
        XCTAssertEqual(fake.cdn.requests(to: fake.cdnPath(model)).count, 2, "one retry from scratch, then the error")
        let blobs = listing(repoFolder("acme/tiny") + "/blobs")
        XCTAssertFalse(blobs.contains { $0.hasPrefix(model.sha256) }, "no blob and no partial of bad bytes: \(blobs)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: snapshot("acme/tiny", commit) + "/model.safetensors"))
    }

    func testOneCorruptTransferIsHealedByTheRetry() throws {
        addTinyRepo()
        let config = fake.file("acme/tiny", "config.json")
        fake.hub.faults.add(.corrupt(offsets: [3]), for: .prefix("/api/resolve-cache/models/acme/tiny/"))
        let server = try launch()
        let result = try XCTUnwrap(download(server, params("acme/tiny")).response?.resultObject)
        XCTAssertNotNil(result["path"])
        XCTAssertEqual(contents(repoFolder("acme/tiny") + "/blobs/\(config.oid)"), config.data,
                       "the git blob id caught the bad byte and the second transfer was kept")
    }

    func testExpiredCDNLinkIsRefreshedThroughTheHub() throws {
        addTinyRepo()
        let model = fake.file("acme/tiny", "model.safetensors")
        fake.cdn.faults.add(.status(403), for: .path(fake.cdnPath(model)))
        let server = try launch()
        XCTAssertNotNil(download(server, params("acme/tiny")).response?.resultObject)
        XCTAssertEqual(fake.hub.requests(to: "/acme/tiny/resolve/\(fake.commit("acme/tiny")!)/model.safetensors").count, 2,
                       "asked the Hub for a fresh link")
    }

    func testPaginatedListingIsFollowedToTheEnd() throws {
        fake.pageSize = 2
        let files = (0..<5).map { FakeHubFile.text("shard-\($0).json", "{\"n\": \($0)}") }
        let commit = fake.addRepo("acme/many", files: files)
        let server = try launch()
        let result = try XCTUnwrap(download(server, params("acme/many")).response?.resultObject)
        XCTAssertEqual((result["files"] as? [[String: Any]])?.count, 5)
        let pages = fake.hub.requests(to: "/api/models/acme/many/tree/\(commit)")
        XCTAssertEqual(pages.count, 3)
        XCTAssertEqual(pages.compactMap { $0.queryValue("cursor") }, ["2", "4"])
    }

    func testBranchesTagsPullRequestsAndCommitsResolveToSnapshots() throws {
        let first = fake.addRepo("acme/rev", files: [.text("config.json", "{\"v\": 1}")])
        let second = fake.addCommit("acme/rev", files: [.text("config.json", "{\"v\": 2}")])
        fake.setRef("acme/rev", "v1.0", to: first)
        fake.setRef("acme/rev", "refs/pr/1", to: second)
        let server = try launch()

        let tagged = try XCTUnwrap(download(server, id: 1, params("acme/rev", ["revision": "v1.0"])).response?.resultObject)
        XCTAssertEqual(tagged["revision"] as? String, first)
        XCTAssertEqual(contents(repoFolder("acme/rev") + "/refs/v1.0"), Data(first.utf8))
        XCTAssertEqual(contents(snapshot("acme/rev", first) + "/config.json"), Data("{\"v\": 1}".utf8))

        let pr = try XCTUnwrap(download(server, id: 2, params("acme/rev", ["revision": "refs/pr/1"])).response?.resultObject)
        XCTAssertEqual(pr["revision"] as? String, second)
        XCTAssertEqual(contents(repoFolder("acme/rev") + "/refs/refs/pr/1"), Data(second.utf8))

        let pinned = try XCTUnwrap(download(server, id: 3, params("acme/rev", ["revision": first])).response?.resultObject)
        XCTAssertEqual(pinned["revision"] as? String, first)
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("acme/rev") + "/refs/\(first)"),
                       "a commit is not recorded as a ref")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("acme/rev") + "/refs/main"))
    }

    func testLocalDirGetsPlainFilesWithHuggingFaceMetadata() throws {
        let commit = addTinyRepo()
        let folder = root + "/local"
        let server = try launch()
        var request = params("acme/tiny", ["localDir": folder])
        request.removeValue(forKey: "cacheDir")
        let result = try XCTUnwrap(download(server, id: 1, request).response?.resultObject)
        XCTAssertEqual(result["path"] as? String, folder)
        for path in ["config.json", "model.safetensors", "tokenizer/tokenizer.json", "empty.txt"] {
            let stored = fake.file("acme/tiny", path)
            let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/" + path)
            XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeRegular, "\(path) is a plain file")
            XCTAssertEqual(contents(folder + "/" + path), stored.data)
            let metadata = try String(contentsOfFile: folder + "/.cache/huggingface/download/\(path).metadata", encoding: .utf8)
            let lines = metadata.split(separator: "\n").map(String.init)
            XCTAssertEqual(Array(lines.prefix(2)), [commit, stored.etag], path)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache), "the cache was not touched")

        fake.cdn.resetByteCounters()
        let again = try XCTUnwrap(download(server, id: 2, request).response?.resultObject)
        XCTAssertEqual(number(again["bytesDownloaded"]), 0)
        XCTAssertEqual(fake.cdn.bodyBytesSent, 0)

        fake.stop()
        let offline = try launch(["HF_HUB_OFFLINE": "1"])
        let fromDisk = try XCTUnwrap(download(offline, id: 3, request).response?.resultObject)
        XCTAssertEqual(fromDisk["revision"] as? String, commit)
        XCTAssertEqual((fromDisk["files"] as? [[String: Any]])?.count, 4)
    }

    func testTwoJobsNeedingTheSameBlobDownloadItOnce() throws {
        addTinyRepo()
        let model = fake.file("acme/tiny", "model.safetensors")
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 1_500_000), for: .path(fake.cdnPath(model)))
        let server = try launch()
        // Different file sets are different jobs; they meet at the blob's lock in the cache.
        server.request("a", "models/download", params("acme/tiny"))
        server.request("b", "models/download", params("acme/tiny", ["include": ["*.safetensors"]]))
        var results: [String: [String: Any]] = [:]
        while results.count < 2, let message = server.nextMessage(timeout: 30) {
            if message.isResponse, let id = message.idDescription { results[id] = message.resultObject ?? [:] }
        }
        XCTAssertNotNil(results["\"a\""]?["path"])
        XCTAssertNotNil(results["\"b\""]?["path"])
        XCTAssertEqual(fake.cdn.bodyBytesSent(path: fake.cdnPath(model)), weights.count, "the blob was fetched once")
        let reused = [results["\"a\""], results["\"b\""]].compactMap { number($0?["bytesReused"]) }
        XCTAssertTrue(reused.contains { $0 >= Int64(weights.count) }, "one job found the other's blob: \(reused)")
    }

    func testNotEnoughDiskSpaceFailsBeforeAnyByte() throws {
        fake.addRepo("acme/huge", files: [.text("config.json", "{}"),
                                          .lfs("model.safetensors", Data("tiny".utf8), advertisedSize: 1 << 60)])
        let server = try launch()
        let response = try XCTUnwrap(download(server, params("acme/huge"), expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "disk_full")
        XCTAssertEqual(response.errorCode, 1011)
        XCTAssertNotNil((response.errorData?["details"] as? [String: Any])?["neededBytes"])
        XCTAssertEqual(fake.cdn.requestCount, 0)
        XCTAssertTrue(fake.hub.requests(matching: .prefix("/acme/huge/resolve/")).isEmpty, "no file was requested")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("acme/huge")), "nothing was created in the cache")
    }

    func testPullCommandPrintsTheSnapshotFolder() throws {
        let commit = addTinyRepo()
        let process = try launch(arguments: ["pull", "huggingface", "acme/tiny", "--cache-dir", cache, "--include", "*.json"],
                                 recordTranscript: false)
        process.closeStdin()
        var lines: [String] = []
        while let line = process.nextLine(timeout: 30) { lines.append(line) }
        XCTAssertEqual(process.waitForExit(timeout: 10), 0, process.stderrText)
        XCTAssertEqual(lines, [snapshot("acme/tiny", commit)], "stdout carries only the path")
        XCTAssertEqual(listing(snapshot("acme/tiny", commit)), ["config.json", "tokenizer", "tokenizer/tokenizer.json"])
    }

    func testSeveralFilesTransferAtOnce() throws {
        let files = (0..<4).map { FakeHubFile.lfs("part-\($0).bin", TestBytes.make(count: 200_000, seed: UInt64(40 + $0))) }
        fake.addRepo("acme/parallel", files: files)
        // Each CDN response waits until three requests are in flight; one at a time would never get there.
        let barrier = Barrier(count: 3)
        fake.onCDNRequest { _ in barrier.arriveAndWait(timeout: 15) }
        let server = try launch()
        XCTAssertNotNil(download(server, params("acme/parallel")).response?.resultObject)
        XCTAssertTrue(barrier.wasReached, "three files were being fetched at the same time")
    }
}

/// Lets threads wait until `count` of them have arrived (or a generous timeout passes).
private final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let count: Int
    private var arrived = 0
    private(set) var wasReached = false

    init(count: Int) { self.count = count }

    func arriveAndWait(timeout: TimeInterval) {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        if arrived >= count { wasReached = true; condition.broadcast() }
        let deadline = Date().addingTimeInterval(timeout)
        while !wasReached, condition.wait(until: deadline) {}
    }
}
