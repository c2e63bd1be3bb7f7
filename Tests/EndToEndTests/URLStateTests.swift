import Foundation
import TestSupport
import XCTest

/// What a url download keeps between runs (partial bytes, the validator they came with, the
/// record of a finished file) against the ways it can go stale: the remote file changes between
/// two runs, a crash or a rename puts other bytes in place, the disk fills, the URL carries a
/// credential. Each ends in correct bytes or a clear error, never `complete` for wrong bytes,
/// never a state that only deleting `.modelpull/` by hand cures, never a credential on disk.
final class URLStateTests: URLTestCase {
    /// A file whose content the test swaps between runs, as a server's file changes.
    private final class ChangingFile: @unchecked Sendable {
        private let lock = NSLock()
        private var file: StaticFile
        init(_ file: StaticFile) { self.file = file }
        var current: StaticFile {
            get { lock.lock(); defer { lock.unlock() }; return file }
            set { lock.lock(); file = newValue; lock.unlock() }
        }
    }

    /// How the server identifies versions of the file.
    private enum Validators: CaseIterable {
        /// Neither ETag nor Last-Modified: no run can prove its partial is the current file.
        case none
        /// The same weak ETag for both versions (weak tags never prove byte equality).
        case weakETag
        /// A strong ETag per version (the content hash).
        case strongETag
        /// Only Last-Modified, changed with the content.
        case lastModified
    }

    private static func file(_ data: Data, version: Int, validators: Validators) -> StaticFile {
        var file = StaticFile(data: data)
        switch validators {
        case .none:
            file.etag = nil
        case .weakETag:
            file.etag = #"W/"same-for-every-version""#
        case .strongETag:
            break
        case .lastModified:
            file.etag = nil
            file.lastModified = "Tue, 0\(version) Dec 2026 10:00:00 GMT"
        }
        return file
    }

    private func serve(_ changing: ChangingFile, at path: String = "/m.bin") throws -> LoopbackHTTPServer {
        let router = Router()
        router.get(path) { changing.current.response(for: $0) }
        return try LoopbackHTTPServer(router: router)
    }

    /// Starts a download and ends it abruptly once the server has sent `bytes` of it: with
    /// kill -9 (nothing runs after) or with `downloads/cancel` (everything is left resumable).
    private func interrupt(_ params: [String: Any], http: LoopbackHTTPServer, path: String = "/m.bin",
                           after bytes: Int, killing: Bool) throws {
        let process = try ModelPullProcess(recordTranscript: !killing)
        process.request(1, "models/download", params)
        let deadline = Date().addingTimeInterval(20)
        while http.bodyBytesSent(path: path) < bytes, Date() < deadline { usleep(5_000) }
        XCTAssertGreaterThanOrEqual(http.bodyBytesSent(path: path), bytes, "the first run got going")
        if killing {
            process.signal(SIGKILL)
            XCTAssertNotNil(process.waitForExit(timeout: 5))
            return
        }
        var downloadId: String?
        while downloadId == nil, let message = process.nextMessage(timeout: 5) {
            downloadId = message.params?["downloadId"] as? String
        }
        process.request(2, "downloads/cancel", ["downloadId": try XCTUnwrap(downloadId)])
        XCTAssertEqual(process.response(to: 1, timeout: 10).response?.errorData?["kind"] as? String, "cancelled")
        process.closeStdin()
        _ = process.waitForExit()
    }

    private func stateFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/.modelpull")) ?? []).sorted()
    }

    // MARK: Item 1: a resume never splices two versions

    /// The remote file changes between two runs, keeping its size. Whatever the server offers to
    /// tell versions apart, the second run ends with exactly the new bytes: with a strong
    /// validator the server itself refuses the stale range (`If-Range`), without one (no
    /// validator, a weak ETag) the old bytes are never resumed and the progress says why.
    func testAResumeAcrossAChangedRemoteFileNeverSplicesTwoVersions() throws {
        let size = 10_000_000
        let v1 = TestBytes.make(count: size, seed: 301)
        let v2 = TestBytes.make(count: size, seed: 302)
        for validators in Validators.allCases {
            for (killing, connections) in [(true, 16), (false, 1)] {
                let label = "\(validators), \(killing ? "kill -9" : "cancel"), \(connections) connection(s)"
                try? FileManager.default.removeItem(atPath: directory)
                let changing = ChangingFile(Self.file(v1, version: 1, validators: validators))
                let http = try serve(changing)
                defer { http.stop() }
                http.faults.add(.rateLimit(bytesPerSecond: 4 << 20), for: .path("/m.bin"), times: .always)
                let request = params(http.url("/m.bin"), ["connections": connections])
                try interrupt(request, http: http, after: 1_125_000, killing: killing)

                changing.current = Self.file(v2, version: 2, validators: validators)
                http.faults.removeAll()
                let server = try ModelPullProcess()
                server.request(1, "models/download", request)
                let (notifications, response) = server.response(to: 1, timeout: 60)
                ProgressRules.check(notifications, response: response, expectTerminal: "complete")
                XCTAssertEqual(FileManager.default.contents(atPath: directory + "/m.bin"), v2, "\(label): exactly the new version")
                if validators == .none || validators == .weakETag {
                    XCTAssertEqual(response?.resultObject?["bytesReused"] as? Int, 0, "\(label): nothing of v1 reused")
                    XCTAssertNil(http.requests(to: "/m.bin").last { $0.header("If-Range") != nil },
                                 "\(label): a weak or missing validator is never sent as If-Range")
                    let messages = ProgressRules.progressParams(notifications).compactMap { $0["message"] as? String }
                    XCTAssertTrue(messages.contains { $0.contains("from the start") }, "\(label): says it starts over: \(messages)")
                }
                XCTAssertEqual(stateFiles().filter { !$0.hasSuffix(".lock") && !$0.hasSuffix(".json") }, [], "\(label): no partial left")
            }
        }
    }

    /// The control: an unchanged file with a strong validator is resumed, not fetched again.
    func testAnUnchangedFileIsResumedOnItsValidator() throws {
        let data = TestBytes.make(count: 6_000_000, seed: 303)
        for validators in [Validators.strongETag, .lastModified] {
            try? FileManager.default.removeItem(atPath: directory)
            let changing = ChangingFile(Self.file(data, version: 1, validators: validators))
            let http = try serve(changing)
            defer { http.stop() }
            http.faults.add(.rateLimit(bytesPerSecond: 4 << 20), for: .path("/m.bin"), times: .always)
            let request = params(http.url("/m.bin"), ["connections": 1])
            try interrupt(request, http: http, after: 1_500_000, killing: true)
            http.faults.removeAll()
            let server = try ModelPullProcess()
            server.request(1, "models/download", request)
            let result = try XCTUnwrap(server.response(to: 1, timeout: 60).response?.resultObject)
            XCTAssertGreaterThan(result["bytesReused"] as? Int ?? 0, 1_000_000, "\(validators): resumed")
            XCTAssertEqual(FileManager.default.contents(atPath: directory + "/m.bin"), data)
            XCTAssertNotNil(http.requests(to: "/m.bin").last?.header("If-Range"), "\(validators): the resume was conditional")
        }
    }

    // MARK: Item 16: a stale partial is discarded, never a permanent error

    /// Cancelled mid-way, then the remote file changes size (with a new ETag, and, from a
    /// server that lies, with the same one): the next request fetches the new file, and the one
    /// after reuses it. No request ever fails because of what an earlier one left.
    func testAPartialOfAFileThatChangedSizeIsDiscardedNotAPermanentError() throws {
        let v1 = TestBytes.make(count: 8_000_000, seed: 304)
        let v2 = TestBytes.make(count: 9_500_000, seed: 305)
        for sameETag in [false, true] {
            for connections in [16, 1] {
                let label = "\(sameETag ? "same" : "new") ETag, \(connections) connection(s)"
                try? FileManager.default.removeItem(atPath: directory)
                let changing = ChangingFile(StaticFile(data: v1))
                let http = try serve(changing)
                defer { http.stop() }
                http.faults.add(.rateLimit(bytesPerSecond: 4 << 20), for: .path("/m.bin"), times: .always)
                let request = params(http.url("/m.bin"), ["connections": connections])
                try interrupt(request, http: http, after: 2_000_000, killing: false)

                changing.current = StaticFile(data: v2, etag: sameETag ? StaticFile.defaultETag(for: v1) : nil)
                http.faults.removeAll()
                let server = try ModelPullProcess()
                for id in 1...2 {
                    server.request(id, "models/download", request)
                    let (notifications, response) = server.response(to: id, timeout: 60)
                    ProgressRules.check(notifications, response: response, expectTerminal: "complete")
                    XCTAssertEqual(response?.resultObject?["status"] as? String, "complete", "\(label), run \(id): \(response?.raw ?? "")")
                    XCTAssertEqual(FileManager.default.contents(atPath: directory + "/m.bin"), v2, "\(label), run \(id)")
                }
            }
        }
    }

    // MARK: Item 2: a record only describes bytes in place

    /// The record of a finished file names the very file it was written for. Other bytes of the
    /// same size put in its place (a crash between record and rename in older versions, another
    /// program, a restore from backup), a link planted in its place, or a record in an older
    /// shape, never make a request answer `complete` without fetching: even one that passes
    /// the sha256 the record claims.
    func testAFinishedFileIsReusedOnlyWhileItIsTheFileItsRecordDescribes() throws {
        let wanted = TestBytes.make(count: 300_000, seed: 306)
        let impostor = TestBytes.make(count: 300_000, seed: 307)
        let sha = try Checksums.sha256(of: wanted)
        let changing = ChangingFile(StaticFile(data: wanted))
        let http = try serve(changing)
        defer { http.stop() }
        let request = params(http.url("/m.bin"), ["sha256": sha])
        let final = directory + "/m.bin"
        let outside = makeTemporaryDirectory(name + "-outside")
        defer { try? FileManager.default.removeItem(atPath: outside) }

        let server = try ModelPullProcess()
        var id = 0
        func download(expectFetch: Bool, _ label: String) throws {
            id += 1
            http.resetByteCounters()
            server.request(id, "models/download", request)
            let result = try XCTUnwrap(server.response(to: id, timeout: 30).response?.resultObject, label)
            XCTAssertEqual(result["status"] as? String, "complete", label)
            XCTAssertEqual(FileManager.default.contents(atPath: final), wanted, label)
            XCTAssertEqual(http.bodyBytesSent(path: "/m.bin") > 0, expectFetch, "\(label): fetched again? \(result)")
            var info = stat()
            XCTAssertEqual(lstat(final, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG, true, "\(label): a regular file")
        }
        try download(expectFetch: true, "first download")
        try download(expectFetch: false, "the same request reuses it")

        // Other bytes renamed into place, with the same size.
        try impostor.write(to: URL(fileURLWithPath: directory + "/impostor"))
        XCTAssertEqual(rename(directory + "/impostor", final), 0)
        try download(expectFetch: true, "other bytes renamed over it")

        // Same inode, bytes changed in place, size kept (the modification time moves).
        usleep(20_000)
        try impostor.write(to: URL(fileURLWithPath: final))
        try download(expectFetch: true, "bytes rewritten in place")

        // A link planted in its place, to a file outside with the right bytes: not reused, and
        // the outside file is left alone.
        try wanted.write(to: URL(fileURLWithPath: outside + "/target"))
        unlink(final)
        XCTAssertEqual(symlink(outside + "/target", final), 0)
        try download(expectFetch: true, "a planted link")
        XCTAssertEqual(FileManager.default.contents(atPath: outside + "/target"), wanted)

        // A record in the shape older versions wrote (URL, size, sha256 only) over other bytes.
        try impostor.write(to: URL(fileURLWithPath: final))
        let legacy = #"{"url":"\#(http.url("/m.bin").absoluteString)","size":300000,"sha256":"\#(sha)"}"#
        try Data(legacy.utf8).write(to: URL(fileURLWithPath: directory + "/.modelpull/m.bin.json"))
        try download(expectFetch: true, "a legacy record")
    }

    // MARK: Item 7: planted links in the destination

    /// A shared destination where someone planted links: `.modelpull` pointing elsewhere is
    /// refused (partials and records would land where it points), a link under the final name
    /// is replaced, not written through, and a `fileName` naming the state folder is refused.
    func testPlantedLinksInAURLDestinationAreNeverFollowed() throws {
        let data = TestBytes.make(count: 5_000_000, seed: 311)
        let http = try serve(ChangingFile(StaticFile(data: data)))
        defer { http.stop() }
        let outside = makeTemporaryDirectory(name + "-outside")
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let server = try ModelPullProcess()

        XCTAssertEqual(symlink(outside, directory + "/.modelpull"), 0)
        server.request(1, "models/download", params(http.url("/m.bin")))
        let refused = try XCTUnwrap(server.response(to: 1).response)
        XCTAssertEqual(refused.errorData?["kind"] as? String, "storage", refused.raw)
        XCTAssertTrue((refused.error?["message"] as? String ?? "").contains("will not follow"), refused.raw)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "nothing written through the link")
        XCTAssertEqual(http.requestCount, 0)

        unlink(directory + "/.modelpull")
        let victim = outside + "/victim"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: victim))
        XCTAssertEqual(symlink(victim, directory + "/m.bin"), 0)
        server.request(2, "models/download", params(http.url("/m.bin")))
        XCTAssertEqual(server.response(to: 2, timeout: 30).response?.resultObject?["status"] as? String, "complete")
        XCTAssertEqual(FileManager.default.contents(atPath: victim), Data("keep me".utf8), "the link's target is untouched")
        XCTAssertEqual(FileManager.default.contents(atPath: directory + "/m.bin"), data)
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/m.bin"), "a regular file now")

        for (id, name) in [(3, ".modelpull"), (4, ".MODELPULL")] {
            server.request(id, "models/download", params(http.url("/m.bin"), ["fileName": name]))
            XCTAssertEqual(server.response(to: id).response?.errorData?["kind"] as? String, "invalid_model", name)
        }
    }

    // MARK: Item 6: names as bytes

    /// The url provider's file name, given or derived from the URL, is judged on its bytes: a
    /// combining mark after `../` is still `..` to the filesystem, a disguised `.modelpull` is
    /// still the state folder, and a leading U+FEFF (which Foundation's percent-decoder drops)
    /// is kept exactly. Nothing lands outside the destination.
    func testURLFileNamesAreJudgedOnTheirBytes() throws {
        let data = TestBytes.make(count: 50_000, seed: 312)
        let router = Router()
        router.prefix("/") { _ in .bytes(data) }
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        let parent = (directory as NSString).deletingLastPathComponent
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [])
        let server = try ModelPullProcess()
        let refusedNames = ["../\u{301}escaped", "a/../../escaped", ".modelpull\u{200C}", ".ModelPull", "", "x\u{0}y"]
        for (index, name) in refusedNames.enumerated() {
            server.request(index + 1, "models/download", params(http.url("/m.bin"), ["fileName": name]))
            let response = try XCTUnwrap(server.response(to: index + 1).response, name.debugDescription)
            XCTAssertNotNil(response.error, "\(name.debugDescription): \(response.raw)")
        }
        let refusedURLs = ["/%2E%2E", "/dir/..%CC%81", "/%FF%FE", "/.hidden"]
        for (index, path) in refusedURLs.enumerated() {
            let id = 100 + index
            server.request(id, "models/download", params(URL(string: http.baseURL.absoluteString + path)!))
            let response = try XCTUnwrap(server.response(to: id).response, path)
            XCTAssertEqual(response.errorData?["kind"] as? String, "invalid_model", "\(path): \(response.raw)")
        }
        XCTAssertEqual(http.requestCount, 0, "nothing was fetched for an unsafe name")
        server.request(200, "models/download", params(URL(string: http.baseURL.absoluteString + "/%EF%BB%BFmodel.bin")!))
        XCTAssertEqual(server.response(to: 200).response?.resultObject?["status"] as? String, "complete")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 != ".modelpull" }
        XCTAssertEqual(names.map { Array($0.utf8) }, [Array("\u{FEFF}model.bin".utf8)], "the exact bytes of the name")
        let after = Set((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [])
        XCTAssertEqual(after.subtracting(before).filter { $0.contains("escaped") }, [], "nothing escaped")
    }

    // MARK: Item 13: credentials in the URL

    /// A URL with a user, a password and a signed query: the credential reaches the server and
    /// nothing else: not stdout (progress, results, `downloads/list`), not stderr at trace level,
    /// not a record or a file name. What is stored and shown is the URL with those parts masked.
    func testCredentialsInTheURLNeverAppearInOutputLogsOrRecords() throws {
        let data = TestBytes.make(count: 3_000_000, seed: 308)
        let changing = ChangingFile(StaticFile(data: data))
        let http = try serve(changing)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 4 << 20), for: .path("/m.bin"), times: .always)
        let password = "pw-Sup3rSecretPassword"
        let signature = "sig-9f8e7d6c5b4a39281706"
        var components = URLComponents(url: http.url("/m.bin"), resolvingAgainstBaseURL: false)!
        components.user = "user-LongNameToken"
        components.password = password
        components.query = "X-Amz-Signature=\(signature)&X-Amz-Expires=3600"
        let url = components.url!
        let secrets = [password, signature, "user-LongNameToken"]

        var stdout: [String] = []
        let server = try ModelPullProcess(arguments: ["--log-level", "trace"])
        server.request(1, "models/download", params(url))
        // Mid-way, the job list shows the model.
        while let message = server.nextMessage(timeout: 10) {
            stdout.append(message.raw)
            if (message.params?["downloadedBytes"] as? Int ?? 0) > 500_000 { break }
        }
        server.request(2, "downloads/list")
        let list = server.response(to: 2)
        stdout += list.notifications.map(\.raw) + [list.response?.raw ?? ""]
        let models = (list.response?.resultObject?["downloads"] as? [[String: Any]])?.compactMap { $0["model"] as? String } ?? []
        XCTAssertEqual(models.count, 1, list.response?.raw ?? "")
        XCTAssertTrue(models.allSatisfy { $0.contains("REDACTED") && $0.contains("/m.bin") }, "\(models)")
        let done = server.response(to: 1, timeout: 60)
        stdout += done.notifications.map(\.raw) + [done.response?.raw ?? ""]
        XCTAssertEqual(done.response?.resultObject?["status"] as? String, "complete")
        XCTAssertEqual(FileManager.default.contents(atPath: directory + "/m.bin"), data)
        XCTAssertTrue(stdout.joined().contains("Starting url download of"), "the start message was seen")
        server.closeStdin()
        _ = server.waitForExit()

        for secret in secrets {
            for line in stdout where line.contains(secret) { XCTFail("stdout shows \(secret): \(line.prefix(300))") }
            XCTAssertFalse(server.stderrText.contains(secret), "stderr shows \(secret)")
            for name in listing(directory) {
                XCTAssertFalse(name.contains(secret), "a file name holds \(secret): \(name)")
                let contents = FileManager.default.contents(atPath: directory + "/" + name) ?? Data()
                XCTAssertNil(contents.range(of: Data(secret.utf8)), "\(name) holds \(secret)")
            }
        }
        // The credential did reach its own server.
        XCTAssertNotNil(http.requests(to: "/m.bin").first?.header("Authorization"))
    }

    private func listing(_ path: String) -> [String] {
        (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
    }

    // MARK: Item 17: full disks, and failures that leave nothing behind

    private func mountSmallDisk(megabytes: Int) throws -> String {
        try mountSmallDisk(megabytes: megabytes, at: directory + "-disk")
    }

    /// A download refused by the free-space preflight, or by a disk that is already full, or
    /// one whose server cannot be reached at all, leaves the destination as it found it (no
    /// folder it created, no empty partial, no record, no lock file), and a full disk is
    /// `disk_full` whichever write meets it first.
    func testFailuresBeforeTheFirstByteLeaveNothingAndAFullDiskIsDiskFull() throws {
        let disk = try mountSmallDisk(megabytes: 4)
        let http = try serve(ChangingFile(StaticFile(data: TestBytes.make(count: 6 << 20, seed: 309))), at: "/big.bin")
        defer { http.stop() }
        let small = Router()
        small.file("/small.bin", StaticFile(data: TestBytes.make(count: 100_000, seed: 310)))
        let smallServer = try LoopbackHTTPServer(router: small)
        defer { smallServer.stop() }
        let closedPort = try LoopbackHTTPServer { _ in .notFound() }
        let unreachable = closedPort.url("/gone.bin")
        closedPort.stop()

        let server = try ModelPullProcess()
        // 1. The preflight refuses, into the disk's root and into a folder that did not exist.
        for (id, folder) in [(1, disk), (2, disk + "/new/deeper")] {
            server.request(id, "models/download", ["provider": "url", "model": http.url("/big.bin").absoluteString, "localDir": folder])
            let response = try XCTUnwrap(server.response(to: id).response)
            XCTAssertEqual(response.errorData?["kind"] as? String, "disk_full", response.raw)
            XCTAssertEqual(listing(disk), [], "\(folder): nothing left behind")
        }
        // 2. A server that cannot be reached: no byte came, so nothing is kept.
        server.request(3, "models/download", ["provider": "url", "model": unreachable.absoluteString, "localDir": disk + "/x",
                                              "stallSeconds": 2])
        let refused = try XCTUnwrap(server.response(to: 3, timeout: 90).response)
        XCTAssertEqual(refused.errorData?["kind"] as? String, "network", refused.raw)
        XCTAssertEqual(listing(disk), [], "unreachable: nothing left behind")
        // 3. The disk is full before the download starts: the first write to fail is the
        // state folder or a record, and that is still `disk_full`.
        let filler = disk + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let chunk = [UInt8](repeating: 0, count: 64 << 10)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
        server.request(4, "models/download", ["provider": "url", "model": smallServer.url("/small.bin").absoluteString, "localDir": disk])
        let full = try XCTUnwrap(server.response(to: 4).response)
        XCTAssertEqual(full.errorData?["kind"] as? String, "disk_full", full.raw)
        XCTAssertEqual(listing(disk), ["filler"], "a full disk: nothing left behind")
        server.request(5, "hello")
        XCTAssertNotNil(server.response(to: 5).response?.resultObject, "still serving")
    }
}
