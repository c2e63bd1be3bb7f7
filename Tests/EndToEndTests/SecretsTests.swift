import Foundation
import TestSupport
import XCTest

/// The token, across every way a Hub download or an Ollama pull can end, with trace logging on:
/// never on stdout, never on stderr, never in a file ModelPull writes, never sent to a host
/// other than the one it is for. Servers that echo it back in their error messages (proxies do)
/// included: what ModelPull quotes of a server is scrubbed of it.
final class SecretsTests: HuggingFaceTestCase {
    private let token = "hf_SecretsTestToken_do_not_leak_9f3a"

    /// Everything the session wrote on stdout, gathered from each exchange.
    private var stdout: [String] = []

    private func run(_ server: ModelPullProcess, id: Int, _ params: [String: Any], file: StaticString = #filePath, line: UInt = #line) -> WireMessage? {
        server.request(id, "models/download", params)
        let (notifications, response) = server.response(to: id, timeout: 60)
        stdout += notifications.map(\.raw) + [response?.raw ?? ""]
        XCTAssertNotNil(response, "request \(id) unanswered; stderr: \(server.stderrText.suffix(1000))", file: file, line: line)
        return response
    }

    private func assertNoLeak(_ servers: [ModelPullProcess], under folders: [String], except: Set<String> = [],
                              file: StaticString = #filePath, line: UInt = #line) {
        for server in servers {
            server.closeStdin()
            _ = server.waitForExit()
            XCTAssertFalse(server.stderrText.contains(token), "stderr leaks the token: …\(server.stderrText.components(separatedBy: token).first?.suffix(300) ?? "")",
                           file: file, line: line)
            XCTAssertTrue(server.stderrText.contains("serving"), "logging was on", file: file, line: line)
        }
        for text in stdout where text.contains(token) {
            XCTFail("stdout leaks the token: \(text.prefix(400))", file: file, line: line)
        }
        for folder in folders {
            for relative in (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []) {
                let path = folder + "/" + relative
                guard !except.contains(path), let data = FileManager.default.contents(atPath: path) else { continue }
                XCTAssertNil(data.range(of: Data(token.utf8)), "\(path) contains the token", file: file, line: line)
            }
        }
    }

    /// A token with a line break would end its header and start another one: refused as invalid
    /// params before any request, and the error does not quote it.
    func testATokenThatWouldInjectAHeaderIsRefusedWithoutQuotingIt() throws {
        let http = try LoopbackHTTPServer { _ in .text("weights") }
        defer { http.stop() }
        let server = try ModelPullProcess(arguments: ["--log-level", "trace"])
        // Marked invalid: the schema's pattern refuses it too, so the transcript check skips it.
        server.request(1, "models/download", ["provider": "url", "model": http.url("/m.bin").absoluteString,
                                              "token": token + "\r\nX-Injected: yes"], invalid: true)
        let response = server.response(to: 1, timeout: 30).response
        stdout.append(response?.raw ?? "")
        XCTAssertEqual(response?.errorCode, -32602, response?.raw ?? "")
        XCTAssertEqual(response?.errorData?["field"] as? String, "params.token", response?.raw ?? "")
        XCTAssertEqual(http.requestCount, 0, "nothing was sent")
        assertNoLeak([server], under: [])
    }

    /// Single-flight must not share authorisation: a request with a valid token never joins a
    /// job started without one (and so never fails with auth_required), and a request without a
    /// token never joins a job running with someone's token (and so never succeeds with it).
    /// The Hub's answers are held back so that both requests overlap for certain.
    func testSingleFlightNeverSharesACredentialBetweenRequests() throws {
        let files: [FakeHubFile] = [.text("config.json", "{}"), .lfs("model.safetensors", TestBytes.make(count: 60_000, seed: 97))]
        fake.addRepo("acme/private", files: files, access: .restricted(readers: [token]))
        fake.hub.faults.add(.delayFirstByte(seconds: 1.5), for: .prefix("/api/models/acme/private"), times: .always)
        let server = try launch(arguments: ["--log-level", "trace"])
        for (order, first, second) in [(0, false, true), (1, true, false)] {
            let cache = root + "/order-\(order)"
            func request(_ withToken: Bool) -> [String: Any] {
                var request = params("acme/private", ["cacheDir": cache])
                if withToken { request["token"] = token }
                return request
            }
            let ids = (10 * order + 1, 10 * order + 2)
            server.request(ids.0, "models/download", request(first))
            server.request(ids.1, "models/download", request(second))
            // Both requests run at once, so their messages interleave: sort them by request id.
            var responses: [String: WireMessage] = [:]
            var notifications: [String: [WireMessage]] = [:]
            let deadline = Date().addingTimeInterval(60)
            while responses.count < 2, let message = server.nextMessage(timeout: max(0, deadline.timeIntervalSinceNow)) {
                stdout.append(message.raw)
                if message.isResponse {
                    responses[message.idDescription ?? ""] = message
                } else if let requestId = message.params?["requestId"] {
                    notifications["\(requestId)", default: []].append(message)
                }
            }
            for (id, withToken) in [(ids.0, first), (ids.1, second)] {
                let response = responses["\(id)"]
                let raw = response?.raw ?? "no response to \(id)"
                if withToken {
                    XCTAssertEqual(response?.resultObject?["status"] as? String, "complete", raw)
                } else {
                    XCTAssertEqual(response?.errorData?["kind"] as? String, "auth_required", raw)
                }
            }
            let jobs = [ids.0, ids.1].compactMap { notifications["\($0)"]?.first?.params?["downloadId"] as? String }
            XCTAssertEqual(Set(jobs).count, 2, "two jobs, not one shared: \(jobs)")
        }
        assertNoLeak([server], under: [root])
    }

    /// The Hub's error shape, quoting the token back (as some proxies and mirrors do).
    private func echo(_ status: Int, code: String? = nil) -> HTTPResponse {
        let message = "Invalid credentials: Bearer \(token) was rejected"
        var response = HTTPResponse.json(data: try! JSONSerialization.data(withJSONObject: ["error": message]), status: status)
            .setting("X-Error-Message", message)
        if let code { response = response.setting("X-Error-Code", code) }
        return response
    }

    func testTheTokenNeverLeaksAcrossHubErrorPaths() throws {
        let weights = TestBytes.make(count: 400_000, seed: 95)
        let files: [FakeHubFile] = [.text("config.json", "{}"), .lfs("model.safetensors", weights)]
        let readers: FakeHubAccess = .restricted(readers: [token])
        let privateCommit = fake.addRepo("acme/private", files: files, access: readers)
        fake.addRepo("acme/gated", files: files, access: .gated(approved: []))
        fake.addRepo("acme/flaky", files: files, access: readers)
        fake.addRepo("acme/limited", files: files, access: readers)
        fake.addRepo("acme/corrupt", files: [.lfs("model.safetensors", TestBytes.make(count: 50_000, seed: 96))], access: readers)
        fake.addRepo("acme/echo", files: files, access: readers)
        fake.addRepo("acme/echo-file", files: files, access: readers)
        fake.addRepo("acme/evil", files: files, access: readers)
        fake.addRepo("acme/huge", files: [.lfs("model.bin", Data("x".utf8), advertisedSize: 1 << 60)], access: readers)
        fake.addRepo("acme/slow", files: [.lfs("model.bin", TestBytes.make(count: 2_000_000, seed: 97))], access: readers)
        fake.addToken(token)

        fake.hub.faults.add(.status(503, retryAfter: "0"), for: .prefix("/api/models/acme/flaky/tree/"), times: .always)
        fake.hub.faults.add(.status(429, retryAfter: "3600"), for: .prefix("/api/models/acme/limited/"), times: .always)
        fake.cdn.faults.add(.corrupt(offsets: [10]), for: .path(fake.cdnPath(fake.file("acme/corrupt", "model.safetensors"))), times: .always)
        fake.hub.faults.add(.respond(echo(404)), for: .prefix("/api/models/acme/echo/tree/"), times: .always)
        fake.hub.faults.add(.respond(echo(401)), for: .prefix("/acme/echo-file/resolve/"), times: .always)
        let hostile: [[String: Any]] = [["type": "file", "path": "../\(token)", "oid": String(repeating: "ab", count: 20), "size": 1]]
        fake.hub.faults.add(.respond(.json(data: try JSONSerialization.data(withJSONObject: hostile))),
                            for: .prefix("/api/models/acme/evil/tree/"), times: .always)
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 500_000), for: .path(fake.cdnPath(fake.file("acme/slow", "model.bin"))), times: .always)

        let server = try launch(arguments: ["serve", "--log-level", "trace"])
        let withToken = { (repo: String, extra: [String: Any]) -> [String: Any] in
            var request = self.params(repo, extra)
            request["token"] = self.token
            return request
        }
        let expectations: [(String, [String: Any], String)] = [
            ("success through the CDN", withToken("acme/private", [:]), "complete"),
            ("gated, not approved", withToken("acme/gated", [:]), "gated"),
            ("missing repo", withToken("acme/missing", [:]), "not_found"),
            ("missing revision", withToken("acme/private", ["revision": "nope"]), "not_found"),
            ("5xx that does not clear", withToken("acme/flaky", [:]), "upstream"),
            ("rate limited for an hour", withToken("acme/limited", [:]), "rate_limited"),
            ("wrong bytes", withToken("acme/corrupt", [:]), "integrity"),
            ("an error quoting the token", withToken("acme/echo", [:]), "not_found"),
            ("a file refused quoting the token", withToken("acme/echo-file", [:]), "auth_required"),
            ("an unsafe name holding the token", withToken("acme/evil", [:]), "upstream"),
            ("a repo that cannot fit", withToken("acme/huge", [:]), "disk_full"),
            ("into a local folder", withToken("acme/private", ["localDir": root + "/local"]), "complete"),
        ]
        for (index, (what, request, outcome)) in expectations.enumerated() {
            let response = run(server, id: index + 1, request)
            let kind = response?.resultObject != nil ? "complete" : response?.errorData?["kind"] as? String
            XCTAssertEqual(kind, outcome, "\(what): \(response?.raw.prefix(600) ?? "")")
        }
        XCTAssertNotNil(contents(snapshot("acme/private", privateCommit) + "/model.safetensors"))

        // Cancelled mid-transfer.
        server.request(50, "models/download", withToken("acme/slow", [:]))
        while let message = server.nextMessage(timeout: 20) {
            stdout.append(message.raw)
            if number(message.params?["downloadedBytes"]) ?? 0 > 100_000 { break }
        }
        server.notify("$/cancelRequest", ["id": 50])
        let (rest, cancelled) = server.response(to: 50)
        stdout += rest.map(\.raw) + [cancelled?.raw ?? ""]
        XCTAssertEqual(cancelled?.errorData?["kind"] as? String, "cancelled")

        // The token from HF_TOKEN and from the token file, on a path that quotes it back.
        let fromEnvironment = try launch(["HF_TOKEN": token], arguments: ["serve", "--log-level", "trace"])
        XCTAssertEqual(run(fromEnvironment, id: 1, params("acme/echo"))?.errorData?["kind"] as? String, "not_found")
        try (token + "\n").write(toFile: hfHome + "/token", atomically: true, encoding: .utf8)
        let fromFile = try launch(arguments: ["serve", "--log-level", "trace"])
        XCTAssertEqual(run(fromFile, id: 1, params("acme/echo-file"))?.errorData?["kind"] as? String, "auth_required")

        XCTAssertTrue(fake.cdn.requests(withHeader: "Authorization").isEmpty, "the token travelled to the CDN")
        XCTAssertFalse(fake.hub.requests(withHeader: "Authorization").isEmpty, "the token was used where it belongs")
        assertNoLeak([server, fromEnvironment, fromFile], under: [root], except: [hfHome + "/token"])
    }

    func testTheTokenNeverLeaksAcrossOllamaErrorPaths() throws {
        let quoted = "unauthorized: Bearer \(token) is not valid"
        let answers: [(String, HTTPResponse, String)] = [
            ("an error line quoting the token", .text(#"{"status":"pulling manifest"}"# + "\n" + #"{"error":"\#(quoted)"}"# + "\n",
                                                      contentType: "application/x-ndjson"), "auth_required"),
            ("a 401 quoting the token", .json(#"{"error":"\#(quoted)"}"#, status: 401), "auth_required"),
            ("a 500 quoting the token", .json(#"{"error":"boom: \#(token)"}"#, status: 500), "upstream"),
            ("a proxy page quoting the token", .text("<html>\(token)</html>\n", contentType: "text/html"), "upstream"),
            ("a stream cut short", .text(#"{"status":"pulling manifest"}"# + "\n", contentType: "application/x-ndjson"), "network"),
        ]
        let server = try ModelPullProcess(arguments: ["serve", "--log-level", "trace"])
        var servers: [LoopbackHTTPServer] = []
        for (index, (what, answer, kind)) in answers.enumerated() {
            let ollama = try LoopbackHTTPServer { request in request.path == "/api/pull" ? answer : .notFound() }
            servers.append(ollama)
            let response = run(server, id: index + 1, ["provider": "ollama", "model": "private:1", "baseUrl": ollama.baseURL.absoluteString,
                                                       "token": token])
            XCTAssertEqual(response?.errorData?["kind"] as? String, kind, "\(what): \(response?.raw.prefix(600) ?? "")")
            XCTAssertEqual(ollama.requests.first?.header("Authorization"), "Bearer \(token)", "\(what): sent to Ollama, where it belongs")
        }
        let refused = run(server, id: 99, ["provider": "ollama", "model": "private:1", "baseUrl": "http://127.0.0.1:\(try closedLoopbackPort())",
                                           "token": token, "source": "server"])
        XCTAssertEqual(refused?.errorData?["kind"] as? String, "provider_unavailable")
        servers.forEach { $0.stop() }
        assertNoLeak([server], under: [root])
    }
}
