import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Names from a hostile Hub and links planted in a shared destination, through the built binary
/// into a real cache and a real `localDir`: nothing is ever written, renamed or deleted outside
/// the destination, ModelPull's own state cannot be named by a listing, names are compared as the
/// filesystem compares them (bytes), and a token echoed into a name goes nowhere.
final class PathSafetyTests: HuggingFaceTestCase {
    private let outside = "outside"
    private var outsideFolder: String { root + "/" + outside }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try FileManager.default.createDirectory(atPath: outsideFolder + "/deep", withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: outsideFolder + "/victim.txt"))
        try Data("also precious".utf8).write(to: URL(fileURLWithPath: outsideFolder + "/deep/victim.bin"))
    }

    private func json(_ object: Any) -> HTTPResponse {
        .json(data: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    private func localParams(_ model: String, _ folder: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        var request = params(model, extra)
        request.removeValue(forKey: "cacheDir")
        request["localDir"] = folder
        return request
    }

    private func assertOutsideUntouched(_ before: FileTree, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(FileTree(outsideFolder), before, "something outside the destination changed", file: file, line: line)
    }

    // MARK: (6) a combining mark after '/'

    func testACombiningMarkAfterASlashCannotClimbOutOfTheDestination() throws {
        let marker = "escaped-\(UUID().uuidString.prefix(8))"
        fake.addRepo("acme/marks", files: [.text("config.json", "{}")])
        let server = try launch()
        var id = 0
        for path in ["../\u{301}\(marker)", "sub/../\u{20DD}\(marker)", "..\u{200B}/\(marker)", "sub/\u{903}x/../../\u{301}\(marker)"] {
            let listing: [[String: Any]] = [["type": "file", "path": path, "oid": String(repeating: "ab", count: 20), "size": 2]]
            fake.hub.faults.removeAll()
            fake.hub.faults.add(.respond(json(listing)), for: .prefix("/api/models/acme/marks/tree/"), times: .always)
            for request in [params("acme/marks"), localParams("acme/marks", root + "/local")] {
                id += 1
                let response = try XCTUnwrap(download(server, id: id, request, expect: "error").response)
                XCTAssertEqual(response.errorData?["kind"] as? String, "upstream", "\(path.debugDescription): \(response)")
                XCTAssertTrue((response.error?["message"] as? String ?? "").contains("Refusing unsafe"), "\(response)")
            }
        }
        XCTAssertTrue(fake.hub.requests(matching: .prefix("/acme/marks/resolve/")).isEmpty)
        for folder in [root, cache, root + "/local", (root as NSString).deletingLastPathComponent] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            XCTAssertFalse(names.contains { $0.contains(marker) }, "something escaped into \(folder)")
        }
    }

    // MARK: (4) NFC and NFD spellings are two files

    func testNamesThatAreOnlyCanonicallyEquivalentAreTwoFilesWithTheirOwnBytes() throws {
        let nfc = "caf\u{e9}.txt", nfd = "cafe\u{301}.txt"
        let folderNFC = "d\u{e9}j\u{e0}/x.bin", folderNFD = "de\u{301}ja\u{300}/x.bin"
        let files: [(String, Data)] = [(nfc, Data("precomposed".utf8)), (nfd, Data("decomposed!".utf8)),
                                       (folderNFC, TestBytes.make(count: 5000, seed: 1)), (folderNFD, TestBytes.make(count: 5000, seed: 2))]
        let commit = fake.addRepo("acme/unicode", files: files.enumerated().map { index, file in
            index < 2 ? .regular(file.0, file.1) : .lfs(file.0, file.1)
        })
        let server = try launch()
        let local = root + "/local"
        for (id, request) in [params("acme/unicode"), localParams("acme/unicode", local)].enumerated() {
            let response = try XCTUnwrap(download(server, id: id + 1, request).response?.resultObject)
            let listed = (response["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
            XCTAssertEqual(Set(listed.map { Array($0.utf8) }), Set(files.map { Array($0.0.utf8) }), "every spelling is listed once")
            let folder = id == 0 ? snapshot("acme/unicode", commit) : local
            for (path, data) in files {
                XCTAssertEqual(readExact(folder + "/" + path), data, "\(path.unicodeScalars.map { String($0.value, radix: 16) }) in \(folder)")
            }
        }
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: local).map { Array($0.utf8) }).count, 5,
                       "four names and .cache in the local folder")
    }

    // MARK: (3) listings cannot name ModelPull's own state

    func testAListingCannotNameThePartialFileOfAnotherDownload() throws {
        let weights = TestBytes.make(count: 200_000, seed: 3)
        fake.addRepo("acme/state", files: [.lfs("model.bin", weights)])
        let etag = fake.file("acme/state", "model.bin").sha256
        let server = try launch()
        let local = root + "/local"
        var id = 0
        for hostile in [".cache/huggingface/download/\(etag).modelpull.partial", ".Cache/HuggingFace/download/\(etag).modelpull.partial",
                        ".CACHE/huggingface/download/model.bin.metadata", ".cach\u{200D}e/huggingface/x", ".git/config", ".Gi\u{200C}T/hooks/post-checkout"] {
            let listing: [[String: Any]] = [
                ["type": "file", "path": "model.bin", "oid": fake.file("acme/state", "model.bin").oid, "size": weights.count,
                 "lfs": ["oid": etag, "size": weights.count, "pointerSize": 130]],
                ["type": "file", "path": hostile, "oid": String(repeating: "ab", count: 20), "size": 4,
                 "lfs": ["oid": String(repeating: "cd", count: 32), "size": 4, "pointerSize": 120]],
            ]
            fake.hub.faults.removeAll()
            fake.hub.faults.add(.respond(json(listing)), for: .prefix("/api/models/acme/state/tree/"), times: .always)
            for request in [localParams("acme/state", local), params("acme/state")] {
                id += 1
                let response = try XCTUnwrap(download(server, id: id, request, expect: "error").response)
                XCTAssertEqual(response.errorData?["kind"] as? String, "upstream", "\(hostile): \(response)")
                XCTAssertTrue((response.error?["message"] as? String ?? "").contains("Refusing unsafe"), "\(response)")
            }
        }
        XCTAssertEqual(fake.cdn.requestCount, 0, "refused before a byte moved")
        XCTAssertEqual(listing(local), [], "nothing was created in the local folder")
    }

    // MARK: (7) links planted in the destination

    func testLinksPlantedInALocalFolderAreNeverFollowedOut() throws {
        fake.addRepo("acme/local", files: [.text("config.json", "{}"), .text("sub/tokenizer.json", "{\"t\": 1}"),
                                           .lfs("sub/deep/model.bin", TestBytes.make(count: 300_000, seed: 4))])
        let server = try launch()
        let before = FileTree(outsideFolder)
        let plantings: [(String, [(String, String)])] = [
            ("a linked subfolder", [("sub", outsideFolder)]),
            ("a linked folder deeper down", [("sub/deep", outsideFolder + "/deep")]),
            ("a linked state folder", [(".cache", outsideFolder)]),
            ("a linked folder inside the state folder", [(".cache/huggingface/download/sub", outsideFolder)]),
        ]
        for (index, (what, links)) in plantings.enumerated() {
            let local = root + "/local-\(index)"
            for (path, target) in links { try plantLink(local + "/" + path, to: target) }
            let response = try XCTUnwrap(download(server, id: index + 1, localParams("acme/local", local), expect: "error").response, what)
            XCTAssertEqual(response.errorData?["kind"] as? String, "storage", "\(what): \(response)")
            XCTAssertTrue((response.error?["message"] as? String ?? "").contains("symbolic link"), "\(what): \(response)")
            assertOutsideUntouched(before)
        }
        // A link at a file's own name is replaced by the file, never written through.
        let local = root + "/local-final"
        try plantLink(local + "/config.json", to: outsideFolder + "/victim.txt")
        download(server, id: 10, localParams("acme/local", local))
        XCTAssertEqual(readExact(local + "/config.json"), Data("{}".utf8))
        XCTAssertFalse(isLink(local + "/config.json"))
        assertOutsideUntouched(before)
    }

    func testLinksPlantedInTheCacheAreNeverFollowedOut() throws {
        let weights = TestBytes.make(count: 300_000, seed: 5)
        let commit = fake.addRepo("acme/cached", files: [.text("config.json", "{}"), .lfs("sub/model.bin", weights)])
        let etag = fake.file("acme/cached", "sub/model.bin").sha256
        let server = try launch()
        let before = FileTree(outsideFolder)
        let repo = "models--acme--cached"
        let plantings: [(String, String, String)] = [
            ("linked blobs folder", "\(repo)/blobs", outsideFolder),
            ("linked snapshot folder", "\(repo)/snapshots/\(commit)", outsideFolder),
            ("linked folder inside a snapshot", "\(repo)/snapshots/\(commit)/sub", outsideFolder),
            ("linked refs folder", "\(repo)/refs", outsideFolder),
            ("linked lock folder", ".locks/\(repo)", outsideFolder),
            ("linked partial file", "\(repo)/blobs/\(etag).modelpull.partial", outsideFolder + "/victim.txt"),
        ]
        for (index, (what, path, target)) in plantings.enumerated() {
            let cacheDir = root + "/cache-\(index)"
            try plantLink(cacheDir + "/" + path, to: target)
            let response = try XCTUnwrap(download(server, id: index + 1, params("acme/cached", ["cacheDir": cacheDir]), expect: "error").response, what)
            XCTAssertEqual(response.errorData?["kind"] as? String, "storage", "\(what): \(response)")
            XCTAssertTrue((response.error?["message"] as? String ?? "").contains("symbolic link"), "\(what): \(response)")
            assertOutsideUntouched(before)
        }
        // Snapshot entries and blobs may legitimately be links: replaced, never written through.
        let cacheDir = root + "/cache-entries"
        try plantLink(cacheDir + "/\(repo)/snapshots/\(commit)/config.json", to: outsideFolder + "/victim.txt")
        try plantLink(cacheDir + "/\(repo)/blobs/\(etag)", to: outsideFolder + "/deep/victim.bin")
        download(server, id: 20, params("acme/cached", ["cacheDir": cacheDir]))
        XCTAssertEqual(readExact(cacheDir + "/\(repo)/snapshots/\(commit)/config.json"), Data("{}".utf8))
        XCTAssertEqual(readExact(cacheDir + "/\(repo)/snapshots/\(commit)/sub/model.bin"), weights)
        assertOutsideUntouched(before)
    }

    func testDeletingARepoWhoseFoldersLinkOutsideRemovesOnlyTheLinks() throws {
        let commit = fake.addRepo("acme/gone", files: [.text("config.json", "{}"), .lfs("model.bin", TestBytes.make(count: 50_000, seed: 6))])
        let server = try launch()
        download(server, id: 1, params("acme/gone"))
        let before = FileTree(outsideFolder)
        let repo = repoFolder("acme/gone")
        try plantLink(repo + "/snapshots/\(commit)/linked-folder", to: outsideFolder)
        try plantLink(repo + "/blobs/linked-blobs", to: outsideFolder + "/deep")
        try plantLink(repo + "/refs/linked-file", to: outsideFolder + "/victim.txt")
        try plantLink(cache + "/.locks/models--acme--gone/linked-lock", to: outsideFolder)
        server.request(2, "models/delete", ["provider": "huggingface", "model": "acme/gone", "cacheDir": cache])
        let deleted = try XCTUnwrap(server.response(to: 2).response?.resultObject)
        XCTAssertEqual(deleted["deleted"] as? Bool, true, "\(deleted)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache + "/.locks/models--acme--gone"))
        assertOutsideUntouched(before)

        // A repo folder that is itself a link: the link goes, the folder it names stays.
        let elsewhere = root + "/elsewhere-repo"
        try FileManager.default.createDirectory(atPath: elsewhere + "/blobs", withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: elsewhere + "/blobs/x"))
        try plantLink(repo, to: elsewhere)
        server.request(3, "models/delete", ["provider": "huggingface", "model": "acme/gone", "cacheDir": cache])
        XCTAssertNotNil(server.response(to: 3).response?.resultObject)
        XCTAssertFalse(isLink(repo) || FileManager.default.fileExists(atPath: repo))
        XCTAssertEqual(readExact(elsewhere + "/blobs/x"), Data("keep".utf8))
    }

    // MARK: (15b) leftovers of a crash

    func testTemporariesACrashLeftInTheRepoFolderAreRemovedByTheNextRun() throws {
        fake.addRepo("acme/crashed", files: [.text("config.json", "{}")])
        let repo = repoFolder("acme/crashed")
        try FileManager.default.createDirectory(atPath: repo + "/blobs", withIntermediateDirectories: true)
        let leftovers = [".modelpull-link-\(UUID().uuidString)", ".modelpull-ref-\(UUID().uuidString).tmp"]
        try plantLink(repo + "/" + leftovers[0], to: outsideFolder + "/victim.txt")
        try Data("0123".utf8).write(to: URL(fileURLWithPath: repo + "/" + leftovers[1]))
        let kept = [".modelpull-ref-not-a-temporary", "notes.txt"]
        for name in kept { try Data("mine".utf8).write(to: URL(fileURLWithPath: repo + "/" + name)) }
        try FileManager.default.createDirectory(atPath: repo + "/.modelpull-link-a-folder", withIntermediateDirectories: true)
        let before = FileTree(outsideFolder)

        let server = try launch()
        download(server, id: 1, params("acme/crashed"))
        let names = try FileManager.default.contentsOfDirectory(atPath: repo)
        for name in leftovers { XCTAssertFalse(names.contains(name), "\(name) is left") }
        for name in kept + [".modelpull-link-a-folder"] { XCTAssertTrue(names.contains(name), "\(name) was not ours to remove") }
        assertOutsideUntouched(before)
    }

    // MARK: (12) a token reflected into a file name

    func testATokenEchoedIntoAFileNameGoesNowhere() throws {
        let token = "hf_PathSafetyToken_never_shown_71c2"
        fake.addRepo("acme/echo", files: [.text("config.json", "{}")])
        fake.addToken(token)
        let server = try launch(arguments: ["serve", "--log-level", "trace"])
        var stdout: [String] = []
        var id = 0
        for path in ["weights-\(token).bin", "sub/\(token)/model.bin", "x-\(token.uppercased())"] {
            let listing: [[String: Any]] = [
                ["type": "file", "path": "config.json", "oid": fake.file("acme/echo", "config.json").oid, "size": 2],
                ["type": "file", "path": path, "oid": fake.file("acme/echo", "config.json").oid, "size": 2],
            ]
            fake.hub.faults.removeAll()
            fake.hub.faults.add(.respond(json(listing)), for: .prefix("/api/models/acme/echo/tree/"), times: .always)
            for request in [params("acme/echo", ["token": token]), localParams("acme/echo", root + "/local", ["token": token])] {
                id += 1
                let (notifications, response) = download(server, id: id, request, expect: "error")
                stdout += notifications.map(\.raw) + [response?.raw ?? ""]
                XCTAssertEqual(response?.errorData?["kind"] as? String, "upstream", response?.raw ?? "")
                XCTAssertTrue((response?.error?["message"] as? String ?? "").contains("Refusing unsafe"), response?.raw ?? "")
            }
        }
        XCTAssertTrue(fake.hub.requests(matching: .prefix("/acme/echo/resolve/")).isEmpty, "refused before any file was fetched")
        server.closeStdin()
        _ = server.waitForExit()
        for line in stdout { XCTAssertFalse(line.lowercased().contains(token.lowercased()), "stdout: \(line.prefix(300))") }
        XCTAssertFalse(server.stderrText.lowercased().contains(token.lowercased()), "stderr holds the token")
        XCTAssertTrue(server.stderrText.contains("serving"), "logging was on")
        for name in FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [] {
            XCTAssertFalse(name.lowercased().contains(token.lowercased()), "a name on disk holds the token: \(name)")
        }
    }

    // MARK: Helpers

    private func plantLink(_ path: String, to target: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
    }
}

/// Reads a file by its exact bytes (no normalisation of the name on the way), following links.
func readExact(_ path: String) -> Data? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return count == 0 ? data : nil }
        data.append(contentsOf: buffer[0..<count])
    }
}

func isLink(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
}

/// Every entry under a folder, by exact name bytes, with what it is: a folder, a link and its
/// target, or a file and its bytes. Links are recorded, never followed.
struct FileTree: Equatable, CustomStringConvertible {
    private(set) var entries: [[UInt8]: String] = [:]

    /// `skipping` gets each relative path; a skipped folder is not entered.
    init(_ root: String, skipping skipped: (String) -> Bool = { _ in false }) {
        visit(root, relative: "", skipped: skipped)
    }

    /// Files and links (the names a download made visible).
    var nonFolders: Set<[UInt8]> { Set(entries.filter { $0.value != "folder" }.keys) }

    private mutating func visit(_ root: String, relative: String, skipped: (String) -> Bool) {
        let folder = relative.isEmpty ? root : root + "/" + relative
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let child = relative.isEmpty ? name : relative + "/" + name
            if skipped(child) { continue }
            let full = root + "/" + child
            var info = stat()
            guard lstat(full, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                entries[Array(child.utf8)] = "folder"
                visit(root, relative: child, skipped: skipped)
            case S_IFLNK:
                entries[Array(child.utf8)] = "link to " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?")
            default:
                entries[Array(child.utf8)] = "file " + (readExact(full) ?? Data()).base64EncodedString()
            }
        }
    }

    var description: String {
        entries.map { "\(String(decoding: $0.key, as: UTF8.self)): \($0.value)" }.sorted().joined(separator: "\n")
    }
}
