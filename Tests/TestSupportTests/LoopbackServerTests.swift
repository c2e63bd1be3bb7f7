import Foundation
import TestSupport
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Drives `LoopbackHTTPServer` with real clients (URLSession and /usr/bin/curl) over real
/// sockets, so the fakes built on it behave like the servers they imitate.
final class LoopbackServerTests: XCTestCase {
    // MARK: - Plain requests and keep-alive

    func testKeepAliveServesTwoRequestsOnOneConnectionWithURLSession() async throws {
        let server = try LoopbackHTTPServer { request in .text("hello \(request.path)") }
        defer { server.stop() }
        let session = Self.makeSession()
        defer { session.invalidateAndCancel() }

        let (first, firstResponse) = try await Self.fetch(session, server.url("/a"))
        let (second, _) = try await Self.fetch(session, server.url("/b?x=1&y=two%20words"))

        XCTAssertEqual(firstResponse.statusCode, 200)
        XCTAssertEqual(String(decoding: first, as: UTF8.self), "hello /a")
        XCTAssertEqual(String(decoding: second, as: UTF8.self), "hello /b")
        let log = server.requests
        XCTAssertEqual(log.count, 2)
        XCTAssertEqual(log[0].connectionIndex, log[1].connectionIndex, "second request should reuse the connection")
        XCTAssertEqual(log.map(\.indexOnConnection), [0, 1])
        XCTAssertEqual(log[1].queryValue("y"), "two words")
        XCTAssertEqual(log[1].target, "/b?x=1&y=two%20words")
        XCTAssertEqual(server.connectionsAccepted, 1)
    }

    func testCurlReusesConnectionUnlessConnectionCloseIsSent() throws {
        let server = try LoopbackHTTPServer { _ in .text("ok") }
        defer { server.stop() }

        let reused = try CurlCommand.run([server.url("/1").absoluteString, server.url("/2").absoluteString])
        XCTAssertEqual(reused.exitCode, 0, reused.stderr)
        XCTAssertEqual(reused.body, Data("okok".utf8))
        XCTAssertEqual(Set(server.requests.map(\.connectionIndex)).count, 1)

        server.clearRequestLog()
        let closing = try CurlCommand.run(["-H", "Connection: close", server.url("/3").absoluteString, server.url("/4").absoluteString])
        XCTAssertEqual(closing.exitCode, 0, closing.stderr)
        XCTAssertEqual(Set(server.requests.map(\.connectionIndex)).count, 2, "Connection: close must end the connection")
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let server = try LoopbackHTTPServer { request in .text(request.path) }
        defer { server.stop() }
        let client = try LoopbackTCPClient(port: server.port)

        try client.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let text = String(decoding: try client.receiveUntilClosed(), as: UTF8.self)

        XCTAssertTrue(text.hasPrefix("HTTP/1.1 200 OK\r\n"), text)
        XCTAssertTrue(text.contains("Content-Length: 4\r\n\r\n/one"), text)
        XCTAssertTrue(text.hasSuffix("Connection: close\r\n\r\n/two"), text)
    }

    func testMalformedRequestGets400() throws {
        let server = try LoopbackHTTPServer { _ in .text("unreachable") }
        defer { server.stop() }
        let client = try LoopbackTCPClient(port: server.port)

        try client.send("NONSENSE\r\n\r\n")
        let text = String(decoding: try client.receiveUntilClosed(), as: UTF8.self)

        XCTAssertTrue(text.hasPrefix("HTTP/1.1 400 Bad Request"), text)
        XCTAssertEqual(server.requestCount, 0)
    }

    func testHeadSendsGetHeadersWithoutBodyAndKeepsConnectionUsable() async throws {
        let blob = Self.blob(count: 5000)
        let router = Router()
        router.file("/file.bin", StaticFile(data: blob))
        let server = try LoopbackHTTPServer(router: router)
        defer { server.stop() }
        let session = Self.makeSession()
        defer { session.invalidateAndCancel() }

        var head = URLRequest(url: server.url("/file.bin"))
        head.httpMethod = "HEAD"
        let (headBody, headResponse) = try await Self.fetch(session, head)
        let (getBody, getResponse) = try await Self.fetch(session, server.url("/file.bin"))

        XCTAssertEqual(headResponse.statusCode, 200)
        XCTAssertTrue(headBody.isEmpty)
        XCTAssertEqual(headResponse.value(forHTTPHeaderField: "Content-Length"), "5000")
        XCTAssertEqual(headResponse.value(forHTTPHeaderField: "ETag"), getResponse.value(forHTTPHeaderField: "ETag"))
        XCTAssertEqual(headResponse.value(forHTTPHeaderField: "Accept-Ranges"), "bytes")
        XCTAssertEqual(getBody, blob)
        XCTAssertEqual(server.requests.map(\.method), ["HEAD", "GET"])
        XCTAssertEqual(server.bodyBytesSent(path: "/file.bin"), 5000, "HEAD must not count (or send) body bytes")

        let curlHead = try CurlCommand.run(["-I", server.url("/file.bin").absoluteString])
        XCTAssertEqual(curlHead.exitCode, 0, curlHead.stderr)
        XCTAssertEqual(curlHead.status, 200)
        XCTAssertEqual(curlHead.headers["Content-Length"], "5000")
    }

    // MARK: - Ranges

    func testRangeRequestsGive206And416() throws {
        let blob = Self.blob(count: 1000)
        let router = Router()
        router.file("/f", StaticFile(data: blob))
        let server = try LoopbackHTTPServer(router: router)
        defer { server.stop() }
        let url = server.url("/f").absoluteString

        let middle = try CurlCommand.run(["-r", "10-19", url])
        XCTAssertEqual(middle.status, 206)
        XCTAssertEqual(middle.headers["Content-Range"], "bytes 10-19/1000")
        XCTAssertEqual(middle.headers["Content-Length"], "10")
        XCTAssertEqual(middle.body, blob[10..<20])

        let openEnded = try CurlCommand.run(["-H", "Range: bytes=990-", url])
        XCTAssertEqual(openEnded.status, 206)
        XCTAssertEqual(openEnded.headers["Content-Range"], "bytes 990-999/1000")
        XCTAssertEqual(openEnded.body, blob[990...])

        let suffix = try CurlCommand.run(["-H", "Range: bytes=-100", url])
        XCTAssertEqual(suffix.status, 206)
        XCTAssertEqual(suffix.headers["Content-Range"], "bytes 900-999/1000")
        XCTAssertEqual(suffix.body, blob.suffix(100))

        let beyond = try CurlCommand.run(["-H", "Range: bytes=5000-", url])
        XCTAssertEqual(beyond.status, 416)
        XCTAssertEqual(beyond.headers["Content-Range"], "bytes */1000")

        let malformed = try CurlCommand.run(["-H", "Range: bytes=abc", url])
        XCTAssertEqual(malformed.status, 200, "an unparseable Range is ignored")
        XCTAssertEqual(malformed.body, blob)
    }

    func testIfRangeMismatchGivesFullBody() async throws {
        let blob = Self.blob(count: 2048)
        let file = StaticFile(data: blob)
        let server = try LoopbackHTTPServer { file.response(for: $0) }
        defer { server.stop() }
        let session = Self.makeSession()
        defer { session.invalidateAndCancel() }

        var stale = URLRequest(url: server.url("/f"))
        stale.setValue("bytes=1000-", forHTTPHeaderField: "Range")
        stale.setValue("\"some-older-version\"", forHTTPHeaderField: "If-Range")
        let (fullBody, full) = try await Self.fetch(session, stale)
        XCTAssertEqual(full.statusCode, 200)
        XCTAssertEqual(fullBody, blob)

        var current = stale
        current.setValue(file.etag, forHTTPHeaderField: "If-Range")
        let (partBody, part) = try await Self.fetch(session, current)
        XCTAssertEqual(part.statusCode, 206)
        XCTAssertEqual(partBody, blob[1000...])
    }

    func testFileWithoutRangeSupportAlwaysSends200() throws {
        let blob = Self.blob(count: 300)
        let server = try LoopbackHTTPServer { StaticFile(data: blob, supportsRanges: false).response(for: $0) }
        defer { server.stop() }

        let result = try CurlCommand.run(["-r", "0-9", server.url("/f").absoluteString])
        XCTAssertEqual(result.status, 200)
        XCTAssertNil(result.headers["Accept-Ranges"])
        XCTAssertEqual(result.body, blob)
    }

    // MARK: - Chunked and streamed bodies

    func testChunkedBodyArrivesWhole() async throws {
        let parts = [Data("alpha-".utf8), Data("beta-".utf8), Data(), Data("gamma".utf8)]
        let server = try LoopbackHTTPServer { _ in
            HTTPResponse(headers: ["Content-Type": "text/plain"], body: .chunked(parts, delayBetweenChunks: 0.02))
        }
        defer { server.stop() }
        let session = Self.makeSession()
        defer { session.invalidateAndCancel() }

        let (body, response) = try await Self.fetch(session, server.url("/c"))
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "alpha-beta-gamma")
        XCTAssertNil(response.value(forHTTPHeaderField: "Content-Length"))
        XCTAssertEqual(server.bodyBytesSent(path: "/c"), 16, "chunk framing is not counted")

        let client = try LoopbackTCPClient(port: server.port)
        try client.send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
        let raw = String(decoding: try client.receive(until: "0\r\n\r\n"), as: UTF8.self)
        XCTAssertTrue(raw.contains("Transfer-Encoding: chunked\r\n"), raw)
        XCTAssertTrue(raw.hasSuffix("\r\n\r\n6\r\nalpha-\r\n5\r\nbeta-\r\n5\r\ngamma\r\n0\r\n\r\n"), raw)
    }

    func testStreamWritesNDJSONProgressively() throws {
        let server = try LoopbackHTTPServer { _ in
            .stream(contentType: "application/x-ndjson") { writer in
                for step in 1...3 {
                    try writer.writeLine(#"{"step":\#(step)}"#)
                    try writer.sleep(0.05)
                }
            }
        }
        defer { server.stop() }

        let started = Date()
        let result = try CurlCommand.run([server.url("/api/pull").absoluteString])
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertEqual(String(decoding: result.body, as: UTF8.self), "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.15)
    }

    func testStaticFileCanBeSentChunked() throws {
        let blob = Self.blob(count: 10_000)
        let server = try LoopbackHTTPServer {
            StaticFile(data: blob, transfer: .chunked(chunkSize: 3000)).response(for: $0)
        }
        defer { server.stop() }

        let result = try CurlCommand.run([server.url("/f").absoluteString])
        XCTAssertEqual(result.status, 200)
        XCTAssertEqual(result.headers["Transfer-Encoding"], "chunked")
        XCTAssertEqual(result.body, blob)
    }

    // MARK: - Routing and redirects

    func testRedirectsAreFollowedByCurl() throws {
        let router = Router()
        let server = try LoopbackHTTPServer(router: router)
        defer { server.stop() }
        router.get("/target") { _ in .text("arrived") }
        router.redirect("/relative", to: "/target", status: 302)
        router.redirect("/absolute", to: server.url("/target").absoluteString, status: 301)
        router.redirect("/temporary", to: "relative", status: 307)

        for path in ["/relative", "/absolute", "/temporary"] {
            let result = try CurlCommand.run(["-L", "-w", "\n%{num_redirects}", server.url(path).absoluteString])
            XCTAssertEqual(result.exitCode, 0, result.stderr)
            XCTAssertEqual(String(decoding: result.body, as: UTF8.self), "arrived\n\(path == "/temporary" ? 2 : 1)", path)
        }
        let unfollowed = try CurlCommand.run([server.url("/relative").absoluteString])
        XCTAssertEqual(unfollowed.status, 302)
        XCTAssertEqual(unfollowed.headers["Location"], "/target")
    }

    func testRouterPrecedence404And405() throws {
        let router = Router()
        router.prefix("/api/") { _ in .text("prefix") }
        router.prefix("/api/models/") { _ in .text("longer prefix") }
        router.get("/api/models/exact") { _ in .text("exact") }
        router.post("/submit") { _ in .text("posted") }
        let server = try LoopbackHTTPServer(router: router)
        defer { server.stop() }

        let cases: [(String, [String], Int, String?)] = [
            ("/api/x", [], 200, "prefix"),
            ("/api/models/y", [], 200, "longer prefix"),
            ("/api/models/exact", [], 200, "exact"),
            ("/missing", [], 404, nil),
            ("/submit", [], 405, nil),
            ("/submit", ["-X", "POST"], 200, "posted"),
        ]
        for (path, extra, status, body) in cases {
            let result = try CurlCommand.run(extra + [server.url(path).absoluteString])
            XCTAssertEqual(result.status, status, path)
            if let body { XCTAssertEqual(String(decoding: result.body, as: UTF8.self), body, path) }
        }
        XCTAssertEqual(try CurlCommand.run([server.url("/submit").absoluteString]).headers["Allow"], "POST")
    }

    func testHeaderLogShowsWhatWasNeverSent() throws {
        let server = try LoopbackHTTPServer { _ in .text("ok") }
        defer { server.stop() }

        _ = try CurlCommand.run(["-H", "authorization: Bearer secret", server.url("/with").absoluteString])
        _ = try CurlCommand.run([server.url("/without").absoluteString])

        XCTAssertEqual(server.requests(withHeader: "Authorization").map(\.path), ["/with"])
        XCTAssertEqual(server.requests(to: "/with").first?.header("AUTHORIZATION"), "Bearer secret")
        XCTAssertTrue(server.requests(to: "/without").allSatisfy { $0.header("Authorization") == nil })
    }

    func testCrossHostRedirectLogShowsAuthorizationWasNeverSent() throws {
        let destination = try LoopbackHTTPServer { _ in .text("landed") }
        defer { destination.stop() }
        let origin = try LoopbackHTTPServer { _ in
            .redirect(to: destination.url("/dest", host: "localhost").absoluteString, status: 302)
        }
        defer { origin.stop() }

        let result = try CurlCommand.run(["-L", "-H", "Authorization: Bearer secret", origin.url("/start").absoluteString])

        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertEqual(result.bodyText, "landed")
        XCTAssertEqual(origin.requests(withHeader: "Authorization").count, 1)
        XCTAssertEqual(destination.requestCount, 1)
        XCTAssertEqual(destination.requests.first?.header("Host"), "localhost:\(destination.port)")
        XCTAssertTrue(destination.requests(withHeader: "Authorization").isEmpty, "curl drops credentials across hosts")
    }

    // MARK: - Request bodies

    func testPostBodyIsEchoedWithURLSessionAndCurl() async throws {
        let server = try LoopbackHTTPServer { request in
            var response = HTTPResponse.json(data: request.body)
            response.headers.add("X-Method", request.method)
            return response
        }
        defer { server.stop() }
        let session = Self.makeSession()
        defer { session.invalidateAndCancel() }

        var post = URLRequest(url: server.url("/api/echo"))
        post.httpMethod = "POST"
        post.setValue("application/json", forHTTPHeaderField: "Content-Type")
        post.httpBody = Data(#"{"name":"llama3","stream":true}"#.utf8)
        let (echo, response) = try await Self.fetch(session, post)
        XCTAssertEqual(echo, post.httpBody)
        XCTAssertEqual(response.value(forHTTPHeaderField: "X-Method"), "POST")
        XCTAssertEqual((server.requests.last?.bodyJSON as? [String: Any])?["name"] as? String, "llama3")

        // A large body with Expect: 100-continue, the way curl uploads.
        let big = Self.blob(count: 1_500_000)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("loopback-\(UUID().uuidString)")
        try big.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let started = Date()
        let uploaded = try CurlCommand.run([
            "--data-binary", "@\(file.path)", "-H", "Expect: 100-continue", server.url("/api/echo").absoluteString,
        ])
        XCTAssertEqual(uploaded.exitCode, 0, uploaded.stderr)
        XCTAssertEqual(uploaded.body, big)
        XCTAssertEqual(server.requests.last?.body.count, big.count)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    }

    // MARK: - Faults

    func testDropAfterBytesTruncatesTheBody() async throws {
        let blob = Self.blob(count: 100_000)
        let router = Router()
        router.file("/model.bin", StaticFile(data: blob))
        let server = try LoopbackHTTPServer(router: router)
        defer { server.stop() }
        server.faults.add(.dropAfter(bytes: 30_000), for: .path("/model.bin"))

        let dropped = try CurlCommand.run([server.url("/model.bin").absoluteString])
        XCTAssertEqual(dropped.exitCode, 18, "curl reports a partial transfer: \(dropped.stderr)")
        XCTAssertEqual(dropped.body, blob.prefix(30_000))
        XCTAssertEqual(server.bodyBytesSent(path: "/model.bin"), 30_000)

        let retried = try CurlCommand.run([server.url("/model.bin").absoluteString])
        XCTAssertEqual(retried.exitCode, 0, "the fault was for one request only")
        XCTAssertEqual(retried.body, blob)

        server.faults.add(.truncate(after: 10), for: .path("/model.bin"))
        let session = Self.makeSession()
        defer { session.invalidateAndCancel() }
        do {
            let (body, _) = try await Self.fetch(session, server.url("/model.bin"))
            XCTFail("URLSession must report the short body, got \(body.count) bytes")
        } catch {
            // Expected: "transfer closed with 99990 bytes remaining to read" (Linux) or
            // NSURLErrorNetworkConnectionLost (Darwin).
        }
        XCTAssertEqual(server.bodyBytesSent(path: "/model.bin"), 130_010)
    }

    func testStatusFaultOnceThenNormal() async throws {
        let server = try LoopbackHTTPServer { _ in .text("fine") }
        defer { server.stop() }
        server.faults.add(.status(503, retryAfter: "1"), for: .path("/api"))
        let session = Self.makeSession()
        defer { session.invalidateAndCancel() }

        let (_, first) = try await Self.fetch(session, server.url("/api"))
        let (body, second) = try await Self.fetch(session, server.url("/api"))

        XCTAssertEqual(first.statusCode, 503)
        XCTAssertEqual(first.value(forHTTPHeaderField: "Retry-After"), "1")
        XCTAssertEqual(second.statusCode, 200)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "fine")
        XCTAssertEqual(server.requestCount, 2, "requests answered by a fault are still logged")
        XCTAssertEqual(server.faults.pendingRuleCount, 0)
    }

    func testFaultSequenceAndHeadDoesNotConsumeBodyFaults() throws {
        let blob = Self.blob(count: 1000)
        let server = try LoopbackHTTPServer { StaticFile(data: blob).response(for: $0) }
        defer { server.stop() }
        server.faults.addSequence([[.status(500)], [], [.dropAfter(bytes: 10)]], for: .path("/f"))
        let url = server.url("/f").absoluteString

        XCTAssertEqual(try CurlCommand.run([url]).status, 500)
        XCTAssertEqual(try CurlCommand.run(["-I", url]).status, 200, "HEAD skips the empty step")
        XCTAssertEqual(try CurlCommand.run([url]).body, blob, "the empty step serves normally")
        XCTAssertEqual(try CurlCommand.run(["-I", url]).exitCode, 0, "HEAD leaves the drop for the GET")
        XCTAssertEqual(try CurlCommand.run([url]).body.count, 10)
        XCTAssertEqual(try CurlCommand.run([url]).body, blob, "sequence exhausted")
        XCTAssertEqual(server.faults.appliedCount, 3)
    }

    func testStallIsDetectedByClientTimeout() async throws {
        let blob = Self.blob(count: 50_000)
        let server = try LoopbackHTTPServer { StaticFile(data: blob).response(for: $0) }
        defer { server.stop() }
        server.faults.add(.stall(afterBytes: 1000, seconds: 30, then: .close), for: .path("/slow"), times: .times(2))

        let viaCurl = try CurlCommand.run(["--max-time", "1", server.url("/slow").absoluteString])
        XCTAssertEqual(viaCurl.exitCode, 28, "curl times out: \(viaCurl.stderr)")
        XCTAssertEqual(viaCurl.body.count, 1000)

        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 0.5
        let session = URLSession(configuration: configuration)
        defer { session.invalidateAndCancel() }
        do {
            _ = try await Self.fetch(session, server.url("/slow"))
            XCTFail("a stalled body must time out")
        } catch let error as URLError {
            XCTAssertEqual(error.code, .timedOut)
        }
    }

    func testStallThenResumeCompletesLate() throws {
        let blob = Self.blob(count: 20_000)
        let server = try LoopbackHTTPServer { StaticFile(data: blob).response(for: $0) }
        defer { server.stop() }
        server.faults.add(.stall(afterBytes: 5000, seconds: 0.4), for: .path("/f"))

        let started = Date()
        let result = try CurlCommand.run([server.url("/f").absoluteString])
        XCTAssertEqual(result.body, blob)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.4)
    }

    func testCorruptFlipsBytesButKeepsLength() throws {
        let blob = Self.blob(count: 4096)
        let server = try LoopbackHTTPServer { StaticFile(data: blob).response(for: $0) }
        defer { server.stop() }
        server.faults.add(.corrupt(offsets: [0, 2000]), for: .path("/f"))

        let result = try CurlCommand.run([server.url("/f").absoluteString])
        XCTAssertEqual(result.exitCode, 0)
        XCTAssertEqual(result.body.count, blob.count)
        let differing = zip(result.body, blob).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        XCTAssertEqual(differing, [0, 2000])
    }

    func testSlowFirstByte() throws {
        let server = try LoopbackHTTPServer { _ in .text("late") }
        defer { server.stop() }
        server.faults.add(.delayFirstByte(seconds: 0.3))

        let started = Date()
        let result = try CurlCommand.run([server.url("/").absoluteString])
        XCTAssertEqual(result.body, Data("late".utf8))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.3)
    }

    func testRateLimitIsRoughlyRespected() async throws {
        let blob = Self.blob(count: 256 * 1024)
        let server = try LoopbackHTTPServer { StaticFile(data: blob).response(for: $0) }
        defer { server.stop() }
        server.faults.add(.rateLimit(bytesPerSecond: 512 * 1024), times: .always)
        let session = Self.makeSession()
        defer { session.invalidateAndCancel() }

        let started = Date()
        let (body, _) = try await Self.fetch(session, server.url("/f"))
        let elapsed = Date().timeIntervalSince(started)

        XCTAssertEqual(body, blob)
        // 256 KiB at 512 KiB/s is 0.5 s; pacing starts after the first slice, so allow for it.
        XCTAssertGreaterThanOrEqual(elapsed, 0.4)
    }

    // MARK: - Stopping

    func testStopClosesOpenConnections() throws {
        let server = try LoopbackHTTPServer { request in
            if request.path == "/forever" {
                return .stream { writer in
                    try writer.writeLine("first")
                    try writer.sleep(60)
                }
            }
            return .text("ok")
        }
        let idle = try LoopbackTCPClient(port: server.port)
        try idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(String(decoding: try idle.receive(until: "ok"), as: UTF8.self).hasSuffix("\r\n\r\nok"))
        let streaming = try LoopbackTCPClient(port: server.port)
        try streaming.send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try streaming.receive(until: "first\n")
        XCTAssertEqual(server.openConnections, 2)

        server.stop()

        XCTAssertEqual(try idle.receive(), Data(), "idle keep-alive connection is closed")
        _ = try streaming.receiveUntilClosed()  // ends instead of waiting 60 s
        XCTAssertEqual(server.openConnections, 0)
        XCTAssertThrowsError(try LoopbackTCPClient(port: server.port), "listener is closed")
    }

    func testDeinitStopsTheServer() throws {
        var port: UInt16 = 0
        do {
            let server = try LoopbackHTTPServer { _ in .text("ok") }
            port = server.port
            XCTAssertEqual(try CurlCommand.run([server.url("/").absoluteString]).bodyText, "ok")
        }
        XCTAssertThrowsError(try LoopbackTCPClient(port: port), "the listener closes when the server is released")
    }

    // MARK: - Helpers

    private static func blob(count: Int) -> Data {
        TestBytes.make(count: count)
    }

    private static func makeSession() -> URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 20
        return URLSession(configuration: configuration)
    }

    private static func fetch(_ session: URLSession, _ url: URL) async throws -> (Data, HTTPURLResponse) {
        try await fetch(session, URLRequest(url: url))
    }

    private static func fetch(_ session: URLSession, _ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        return (data, http)
    }
}
