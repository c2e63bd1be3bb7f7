import Foundation
import TestSupport
import XCTest

/// Servers that lie, babble or attack: unsafe names in a Hub listing, huge, garbage or endless
/// answers from the Hub and from Ollama, absurd sizes, redirect loops, redirects that would
/// carry the token elsewhere. Each must end as one clean error (the process still serving),
/// with nothing written outside the destination and memory bounded.
final class HostileServerTests: HuggingFaceTestCase {
    /// Generous: the binary idles at ~20 MB and peaks at 40–75 MB in these tests, which push
    /// answers of 150 MB and more at it.
    static let memoryBound: Int64 = 200 << 20

    private func assertMemoryBounded(_ server: ModelPullProcess, file: StaticString = #filePath, line: UInt = #line) {
        guard ProcessMemory.isMeasurable else { return }
        let peak = server.peakResidentBytes ?? .max
        XCTAssertLessThan(peak, Self.memoryBound, "peak RSS \(peak >> 20) MB", file: file, line: line)
    }

    private func assertStillServing(_ server: ModelPullProcess, id: Int = 900, file: StaticString = #filePath, line: UInt = #line) {
        server.request(id, "hello")
        XCTAssertNotNil(server.response(to: id).response?.resultObject, "still serving; stderr: \(server.stderrText.suffix(2000))",
                        file: file, line: line)
    }

    private func json(_ object: Any) -> HTTPResponse {
        .json(data: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// A body of `megabytes` MB written a megabyte at a time (the test never holds it whole),
    /// starting with `prefix`, without a newline.
    private static func huge(_ megabytes: Int, prefix: String = "", contentType: String = "application/json") -> HTTPResponse {
        .stream(contentType: contentType) { writer in
            try writer.write(prefix)
            let block = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
            for _ in 0..<megabytes { try writer.write(block) }
        }
    }

    private static let deeplyNested = String(repeating: "[", count: 500_000) + String(repeating: "]", count: 500_000)

    // MARK: Unsafe names in the listing

    func testUnsafeFileNamesInTheListingAreRejectedAndNothingIsWrittenOutside() throws {
        let commit = fake.addRepo("acme/evil", files: [.text("config.json", "{}")])
        let marker = "escaped-\(UUID().uuidString.prefix(8))"
        let unsafe = ["../\(marker)", "../../../../\(marker)", "/tmp/\(marker)", "sub/../../\(marker)", "a\\..\\\(marker)",
                      "nul\u{0}\(marker)", "line\nbreak-\(marker)", "esc\u{1b}[31m\(marker)", "del\u{7f}\(marker)",
                      "./\(marker)", "a//\(marker)", "..", "", "sub/."]
        let local = root + "/local"
        let server = try launch()
        var id = 0
        for path in unsafe {
            let listing: [[String: Any]] = [
                ["type": "file", "path": "config.json", "oid": fake.file("acme/evil", "config.json").oid, "size": 2],
                ["type": "file", "path": path, "oid": String(repeating: "ab", count: 20), "size": 4,
                 "lfs": ["oid": String(repeating: "cd", count: 32), "size": 4, "pointerSize": 120]],
            ]
            fake.hub.faults.removeAll()
            fake.hub.faults.add(.respond(json(listing)), for: .prefix("/api/models/acme/evil/tree/"), times: .always)
            for destination in ["cache", "localDir"] {
                id += 1
                var request = params("acme/evil")
                if destination == "localDir" { request["localDir"] = local; request.removeValue(forKey: "cacheDir") }
                let response = try XCTUnwrap(download(server, id: id, request, expect: "error").response, path.debugDescription)
                XCTAssertEqual(response.errorData?["kind"] as? String, "upstream", "\(path.debugDescription) into the \(destination)")
                XCTAssertTrue((response.error?["message"] as? String ?? "").contains("Refusing unsafe"), "\(response)")
            }
        }
        XCTAssertTrue(fake.hub.requests(matching: .prefix("/acme/evil/resolve/")).isEmpty, "not one file was fetched")
        XCTAssertEqual(fake.cdn.requestCount, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("acme/evil")), "nothing was created in the cache")
        XCTAssertEqual(listing(local).filter { !$0.hasPrefix(".cache") }, [], "nothing was written into the local folder")
        for folder in [root, (root as NSString).deletingLastPathComponent, "/tmp", "/", cache, local, snapshot("acme/evil", commit)] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            XCTAssertFalse(names.contains { $0.contains(marker) }, "something escaped into \(folder)")
        }
        assertStillServing(server)
    }

    func testANonHexCommitOrDigestFromTheHubIsRejected() throws {
        fake.addRepo("acme/evil", files: [.text("config.json", "{}")])
        let server = try launch()
        let marker = "escaped-\(UUID().uuidString.prefix(8))"
        fake.hub.faults.add(.respond(json(["id": "acme/evil", "sha": "../../../\(marker)"])), for: .prefix("/api/models/acme/evil/revision/"))
        let badCommit = try XCTUnwrap(download(server, id: 1, params("acme/evil"), expect: "error").response)
        XCTAssertEqual(badCommit.errorData?["kind"] as? String, "upstream")

        let badDigest: [[String: Any]] = [["type": "file", "path": "model.bin", "oid": String(repeating: "ab", count: 20), "size": 4,
                                           "lfs": ["oid": "../../\(marker)", "size": 4]]]
        fake.hub.faults.add(.respond(json(badDigest)), for: .prefix("/api/models/acme/evil/tree/"))
        let digest = try XCTUnwrap(download(server, id: 2, params("acme/evil"), expect: "error").response)
        XCTAssertEqual(digest.errorData?["kind"] as? String, "upstream")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("acme/evil")))
        for folder in [root, cache, "/tmp"] {
            XCTAssertFalse(((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).contains { $0.contains(marker) })
        }
        assertStillServing(server)
    }

    func testAbsurdSizesInTheListingAreACleanErrorNotACrash() throws {
        fake.addRepo("acme/absurd", files: [.text("config.json", "{}")])
        let entries: [[String: Any]] = (0..<3).map { index in
            ["type": "file", "path": "shard-\(index).bin", "oid": String(repeating: "ab", count: 20), "size": 9_000_000_000_000_000_000,
             "lfs": ["oid": String(repeating: String(index), count: 64), "size": 9_000_000_000_000_000_000, "pointerSize": 134]]
        }
        fake.hub.faults.add(.respond(json(entries)), for: .prefix("/api/models/acme/absurd/tree/"), times: .always)
        let server = try launch()
        let response = try XCTUnwrap(download(server, params("acme/absurd"), expect: "error").response)
        XCTAssertTrue(["upstream", "disk_full"].contains(response.errorData?["kind"] as? String ?? ""), "\(response)")
        XCTAssertEqual(fake.cdn.requestCount, 0)
        assertStillServing(server)
    }

    // MARK: Huge, garbage and endless answers from the Hub

    func testGarbageAndDeeplyNestedHubAnswersAreCleanErrors() throws {
        fake.addRepo("acme/babble", files: [.text("config.json", "{}")])
        var garbage = TestBytes.make(count: 200_000, seed: 87)
        garbage[0] = UInt8(ascii: "{")
        let answers: [(String, HTTPResponse)] = [
            ("random bytes", .bytes(garbage, contentType: "application/json")),
            ("500,000 nested arrays", .json(Self.deeplyNested)),
            ("the wrong shape", .json(#"{"sha": 42, "siblings": "none"}"#)),
            ("an empty body", .json("")),
        ]
        let server = try launch()
        var id = 0
        for route in ["revision", "tree"] {
            for (what, answer) in answers {
                id += 1
                fake.hub.faults.removeAll()
                fake.hub.faults.add(.respond(answer), for: .prefix("/api/models/acme/babble/\(route)/"), times: .always)
                let response = try XCTUnwrap(download(server, id: id, params("acme/babble"), expect: "error").response, "\(route): \(what)")
                XCTAssertEqual(response.errorData?["kind"] as? String, "upstream", "\(route): \(what): \(response)")
            }
        }
        assertStillServing(server)
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("acme/babble")))
    }

    /// What ModelPull itself keeps of an answer too big to be real. The hostile server sends at
    /// 32 MB/s, below what the client consumes: FoundationNetworking on Linux reads ahead of its
    /// consumer without back-pressure, so a peer faster than that on a local link can make it
    /// buffer more than ModelPull ever reads (a transfer-layer limit, measured separately). Each
    /// answer runs in a fresh process, so each peak is that answer's alone.
    func testHugeHubAnswersAreRefusedInBoundedMemory() throws {
        fake.addRepo("acme/huge", files: [.text("config.json", "{}")])
        for route in ["revision", "tree"] {
            fake.hub.faults.removeAll()
            fake.hub.faults.add([.respond(Self.huge(150, prefix: #"{"id": "acme/huge", "sha": ""#)), .rateLimit(bytesPerSecond: 32 << 20)],
                                for: .prefix("/api/models/acme/huge/\(route)/"), times: .always)
            let server = try launch()
            let response = try XCTUnwrap(download(server, params("acme/huge"), expect: "error").response, route)
            XCTAssertEqual(response.errorData?["kind"] as? String, "upstream", "\(route): \(response)")
            XCTAssertTrue((response.error?["message"] as? String ?? "").contains("larger than"), "\(response)")
            XCTAssertLessThan(fake.hub.bodyBytesSent, 100 << 20, "\(route): the answer was refused while it arrived")
            fake.hub.resetByteCounters()
            assertStillServing(server)
            assertMemoryBounded(server)
        }
    }

    /// An error page that never ends must not keep a request open (its first bytes are enough
    /// to quote), on the Hub's API, on a file transfer, and from Ollama.
    func testEndlessErrorPagesEndTheRequest() throws {
        let commit = fake.addRepo("acme/page", files: [.text("config.json", "{}"), .lfs("model.bin", TestBytes.make(count: 10_000, seed: 91))])
        let model = fake.file("acme/page", "model.bin")
        var page = Self.huge(4096, prefix: "<html><body>Not found", contentType: "text/html")
        page.status = 404
        let server = try launch()
        for (index, (host, path)) in [(fake.hub, "/api/models/acme/page/revision/main"), (fake.cdn, fake.cdnPath(model))].enumerated() {
            host.faults.removeAll()
            host.faults.add([.respond(page), .rateLimit(bytesPerSecond: 32 << 20)], for: .path(path), times: .always)
            server.request(index + 1, "models/download", params("acme/page"))
            let (notifications, response) = server.response(to: index + 1, timeout: 30)
            XCTAssertNotNil(response, "\(path): the request hung on an endless error page")
            ProgressRules.check(notifications, response: response, expectTerminal: "error")
            host.faults.removeAll()
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: snapshot("acme/page", commit) + "/model.bin"))

        let ollama = try ollamaServer(pull: {
            var answer = Self.huge(4096, prefix: #"{"error":"#, contentType: "application/json")
            answer.status = 500
            return answer
        }())
        defer { ollama.stop() }
        ollama.faults.add(.rateLimit(bytesPerSecond: 32 << 20), times: .always)
        server.request(3, "models/download", ["provider": "ollama", "model": "endless:1", "baseUrl": ollama.baseURL.absoluteString])
        let (notifications, response) = server.response(to: 3, timeout: 30)
        XCTAssertNotNil(response, "the pull hung on an endless error page")
        ProgressRules.check(notifications, response: response, expectTerminal: "error")
        assertStillServing(server)
    }

    /// A file listed at 1 MB whose CDN answers with its bytes and then never stops (a chunked
    /// body with no end): nothing past the listed size is ever written, the response is ended
    /// there, and the file completes with exactly its bytes, in order and in parallel.
    func testAnEndlessBodyIsNeverWrittenPastTheListedSize() throws {
        let content = TestBytes.make(count: 1_000_000, seed: 92)
        let commit = fake.addRepo("acme/endless", files: [.lfs("model.bin", content)])
        let model = fake.file("acme/endless", "model.bin")
        let endless = HTTPResponse.stream { writer in
            try writer.write(content)
            let block = Data(repeating: 0xEE, count: 64 << 10)
            while true { try writer.write(block) }
        }
        let server = try launch()
        for (id, connections) in [(1, 1), (2, 16)] {
            fake.cdn.faults.removeAll()
            fake.cdn.faults.add(.respond(endless), for: .path(fake.cdnPath(model)), times: .always)
            try? FileManager.default.removeItem(atPath: repoFolder("acme/endless"))
            let (notifications, response) = download(server, id: id, params("acme/endless", ["connections": connections]),
                                                     expect: "complete")
            XCTAssertNotNil(response, "\(connections) connection(s): no terminal event")
            ProgressRules.check(notifications, response: response, expectTerminal: "complete")
            XCTAssertEqual(FileManager.default.contents(atPath: snapshot("acme/endless", commit) + "/model.bin"), content)
        }
        assertStillServing(server)
    }

    func testAnEndlessListingIsCutOffInBoundedMemory() throws {
        let commit = String(repeating: "c", count: 40)
        let pages = PageCounter()
        // Every page brings 200 new files with 3 kB names, and a cursor to yet another page.
        let folders = (0..<12).map { _ in String(repeating: "d", count: 250) }.joined(separator: "/")
        let hub = try LoopbackHTTPServer { request in
            if request.path.hasPrefix("/api/models/acme/endless/revision/") {
                return .json(#"{"id": "acme/endless", "sha": "\#(commit)"}"#)
            }
            guard request.path.hasPrefix("/api/models/acme/endless/tree/") else { return .notFound() }
            let page = pages.next()
            guard page < 2_000 else { return .json("[]") }
            let entries = (0..<200).map { index in
                #"{"type":"file","path":"\#(folders)/p\#(page)-\#(index).bin","oid":"\#(String(repeating: "ab", count: 20))","size":1}"#
            }
            return HTTPResponse.json("[" + entries.joined(separator: ",") + "]")
                .setting("Link", "</api/models/acme/endless/tree/\(commit)?recursive=true&cursor=\(page + 1)>; rel=\"next\"")
        }
        defer { hub.stop() }
        let server = try launch()
        let response = try XCTUnwrap(download(server, params("acme/endless", ["baseUrl": hub.baseURL.absoluteString]), expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "upstream", "\(response)")
        XCTAssertTrue((response.error?["message"] as? String ?? "").contains("refuses listings that large"), "\(response)")
        XCTAssertLessThan(pages.count, 2_000, "the listing was cut off, not read to the end")
        assertStillServing(server)
        assertMemoryBounded(server)
    }

    // MARK: Redirects

    func testRedirectLoopsOnTheHubAndOnTheCDNAreUpstreamErrors() throws {
        let server = try launch()
        for (index, what) in ["the revision API", "a file on the Hub", "a blob on the CDN"].enumerated() {
            let repo = "acme/loop\(index)"
            let commit = fake.addRepo(repo, files: [.text("config.json", "{}"), .lfs("model.bin", TestBytes.make(count: 10_000, seed: UInt64(90 + index)))])
            let model = fake.file(repo, "model.bin")
            let (host, path) = [(fake.hub, "/api/models/\(repo)/revision/main"), (fake.hub, "/\(repo)/resolve/\(commit)/config.json"),
                                (fake.cdn, fake.cdnPath(model))][index]
            host.faults.add(.respond(.redirect(to: path, status: 302)), for: .path(path), times: .always)
            let response = try XCTUnwrap(download(server, id: index + 1, params(repo), expect: "error").response, what)
            XCTAssertEqual(response.errorData?["kind"] as? String, "upstream", "\(what): \(response)")
            XCTAssertTrue((response.error?["message"] as? String ?? "").lowercased().contains("redirect"), "\(what): \(response)")
            XCTAssertNil(contents(repoFolder(repo) + "/refs/main"), "\(what): no snapshot was recorded")
            host.faults.removeAll()
        }
        assertStillServing(server)
    }

    func testTheTokenNeverFollowsTheHubToAnotherHost() throws {
        let token = "hf_RedirectedSecret_123"
        let commit = fake.addRepo("acme/away", files: [.text("config.json", "{}")], access: .restricted(readers: [token]))
        let config = fake.file("acme/away", "config.json")
        let elsewhere = try LoopbackHTTPServer { _ in .status(404) }
        defer { elsewhere.stop() }
        let server = try launch()
        let away = elsewhere.url("/stolen").absoluteString
        let cases: [(String, String, HTTPResponse)] = [
            ("the revision API redirects away", "/api/models/acme/away/revision/main", .redirect(to: away, status: 302)),
            ("a file's same-origin hop redirects away", fake.resolveCachePath("acme/away", config), .redirect(to: away, status: 307)),
            ("the listing's next page is elsewhere",
             "/api/models/acme/away/tree/\(commit)", json([] as [Any]).setting("Link", "<\(away)?cursor=1>; rel=\"next\"")),
        ]
        for (index, (what, path, answer)) in cases.enumerated() {
            fake.hub.faults.removeAll()
            fake.hub.faults.add(.respond(answer), for: .path(path), times: .always)
            let (_, response) = download(server, id: index + 1, params("acme/away", ["token": token]), expect: "error")
            XCTAssertNotNil(response?.errorData?["kind"], what)
        }
        XCTAssertEqual(elsewhere.requests(withHeader: "Authorization").count, 0, "the token went to another host")
        XCTAssertFalse(elsewhere.requests.contains { $0.queryValue("cursor") != nil }, "a listing page elsewhere is not even asked for")
        XCTAssertFalse(elsewhere.requests.isEmpty, "the redirects were followed (without the token)")
        assertStillServing(server)
    }

    // MARK: Ollama

    private func ollamaServer(pull: HTTPResponse, tags: HTTPResponse = .json(#"{"models":[]}"#)) throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer { request in
            switch request.path {
            case "/api/pull": return pull
            case "/api/tags": return tags
            case "/api/version": return .json(#"{"version":"0.12.6"}"#)
            default: return .notFound()
            }
        }
    }

    /// Every answer at 32 MB/s, as for the Hub (see `testHugeHubAnswersAreRefusedInBoundedMemory`).
    func testHugeGarbageAndEndlessOllamaAnswersAreCleanErrorsInBoundedMemory() throws {
        let pulls: [(String, HTTPResponse)] = [
            ("one endless line", Self.huge(200, prefix: #"{"status":"pulling manifest","x":""#, contentType: "application/x-ndjson")),
            ("random bytes", .bytes(TestBytes.make(count: 300_000, seed: 89), contentType: "application/x-ndjson")),
            ("a deeply nested line", .text(Self.deeplyNested + "\n", contentType: "application/x-ndjson")),
            ("a 500 kB digest, again and again", .stream(contentType: "application/x-ndjson") { writer in
                for index in 0..<400 {
                    try writer.writeLine(#"{"status":"pulling","digest":"sha256:\#(index)\#(String(repeating: "f", count: 500_000))","total":10,"completed":1}"#)
                }
            }),
            ("a million layers", .stream(contentType: "application/x-ndjson") { writer in
                try writer.writeLine(#"{"status":"pulling manifest"}"#)
                for index in 0..<1_000_000 {
                    try writer.writeLine(#"{"status":"pulling","digest":"\#(FakeOllamaScenario.digest(index))","total":1000,"completed":1}"#)
                }
                try writer.writeLine(#"{"status":"success"}"#)
            }),
            ("layers of 9 EB", .stream(contentType: "application/x-ndjson") { writer in
                try writer.writeLine(#"{"status":"pulling manifest"}"#)
                for index in 0..<3 {
                    try writer.writeLine(#"{"status":"pulling","digest":"\#(FakeOllamaScenario.digest(index))","total":9000000000000000000,"completed":9000000000000000000}"#)
                }
                try writer.writeLine(#"{"status":"success"}"#)
            }),
        ]
        let server = try ModelPullProcess()
        for (index, (what, pull)) in pulls.enumerated() {
            let ollama = try ollamaServer(pull: pull)
            defer { ollama.stop() }
            ollama.faults.add(.rateLimit(bytesPerSecond: 32 << 20), times: .always)
            server.request(index + 1, "models/download", ["provider": "ollama", "model": "hostile:1", "baseUrl": ollama.baseURL.absoluteString])
            let (notifications, response) = server.response(to: index + 1, timeout: 60)
            XCTAssertNotNil(response, "\(what): no answer; stderr: \(server.stderrText.suffix(2000))")
            ProgressRules.check(notifications, response: response, expectTerminal: "error")
            XCTAssertEqual(response?.errorData?["kind"] as? String, "upstream", "\(what): \(String(describing: response))")
        }
        // The local-models calls read bodies whole: those are capped too.
        for (index, tags) in [Self.huge(100, prefix: #"{"models":[{"name":""#), .json(Self.deeplyNested), .json("{garbage")].enumerated() {
            let ollama = try ollamaServer(pull: .status(500), tags: tags)
            defer { ollama.stop() }
            ollama.faults.add(.rateLimit(bytesPerSecond: 32 << 20), times: .always)
            server.request(100 + index, "models/list", ["provider": "ollama", "baseUrl": ollama.baseURL.absoluteString])
            let response = try XCTUnwrap(server.response(to: 100 + index, timeout: 30).response)
            XCTAssertEqual(response.errorData?["kind"] as? String, "upstream", "\(response)")
        }
        assertStillServing(server)
        assertMemoryBounded(server)
    }

    func testOllamaRedirectsAreNeverFollowed() throws {
        let elsewhere = try LoopbackHTTPServer { _ in .json(#"{"status":"success"}"#) }
        defer { elsewhere.stop() }
        let ollama = try ollamaServer(pull: .redirect(to: elsewhere.url("/api/pull").absoluteString, status: 307))
        defer { ollama.stop() }
        let server = try ModelPullProcess()
        server.request(1, "models/download", ["provider": "ollama", "model": "moved:1", "baseUrl": ollama.baseURL.absoluteString,
                                              "token": "proxy-secret-1"])
        let (notifications, response) = server.response(to: 1)
        ProgressRules.check(notifications, response: response, expectTerminal: "error")
        XCTAssertTrue(elsewhere.requests.isEmpty, "a redirect from Ollama was followed")
        assertStillServing(server)
    }
}

/// Counts tree pages served, across the server's connection threads.
private final class PageCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var served = 0

    func next() -> Int {
        lock.lock(); defer { lock.unlock() }
        served += 1
        return served - 1
    }

    var count: Int {
        lock.lock(); defer { lock.unlock() }
        return served
    }
}
