import Foundation
import TestSupport
import XCTest

/// `modelpull mcp` through the built binary with hand-written messages: every protocol revision
/// a client may speak, MCP's cancellation rule, progress, secrets, and hostile input. The
/// official SDK drives the same server in Tests/Interop/mcp_sdk_client.py.
final class MCPTests: URLTestCase {
    private func launch(_ arguments: [String] = []) throws -> ModelPullProcess {
        // MCP messages are not schema/v1's: no transcript for the native schema check.
        try ModelPullProcess(arguments: ["mcp"] + arguments, recordTranscript: false)
    }

    private func call(_ id: Int, _ tool: String, _ arguments: [String: Any], token: Any? = nil) -> [String: Any] {
        var params: [String: Any] = ["name": tool, "arguments": arguments]
        if let token { params["_meta"] = ["progressToken": token] }
        return params
    }

    func testInitializeNegotiatesEveryHandshakeRevision() throws {
        let server = try launch()
        let cases = [("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"), ("2025-03-26", "2025-03-26"),
                     ("2024-11-05", "2024-11-05"), ("2099-01-01", "2025-11-25"), ("2026-07-28", "2025-11-25")]
        for (index, (asked, answered)) in cases.enumerated() {
            server.request(index + 1, "initialize", ["protocolVersion": asked, "capabilities": [:],
                                                     "clientInfo": ["name": "t", "version": "1"]])
            let result = try XCTUnwrap(server.response(to: index + 1).response?.resultObject, asked)
            XCTAssertEqual(result["protocolVersion"] as? String, answered, asked)
            XCTAssertEqual((result["serverInfo"] as? [String: Any])?["name"] as? String, "modelpull")
            XCTAssertNotNil((result["capabilities"] as? [String: Any])?["tools"])
        }
        server.notify("notifications/initialized")
        server.request(50, "ping")
        let ping = try XCTUnwrap(server.nextMessage(), "initialized is never answered; ping is")
        XCTAssertEqual(ping.idDescription, "50")
        XCTAssertNotNil(ping.resultObject, "a result object, never null")
    }

    /// 2026-07-28: `server/discover` without a handshake, the version in each request's `_meta`,
    /// -32022 with the supported list for one this server does not speak.
    func testTheModernRevisionDiscoversAndChecksEachRequestsVersion() throws {
        let server = try launch()
        let meta: [String: Any] = ["io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                   "io.modelcontextprotocol/clientInfo": ["name": "t", "version": "1"],
                                   "io.modelcontextprotocol/clientCapabilities": [:]]
        server.request(1, "server/discover", ["_meta": meta])
        let discovered = try XCTUnwrap(server.response(to: 1).response?.resultObject)
        XCTAssertTrue((discovered["supportedVersions"] as? [String])?.contains("2026-07-28") ?? false, "\(discovered)")
        XCTAssertEqual(discovered["resultType"] as? String, "complete")
        XCTAssertNotNil(discovered["ttlMs"])
        XCTAssertNotNil(discovered["cacheScope"])
        server.request(2, "tools/list", ["_meta": meta])
        let tools = try XCTUnwrap(server.response(to: 2).response?.resultObject)
        XCTAssertEqual((tools["tools"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted(),
                       ["cancel_download", "delete_model", "download_model", "list_downloads", "list_models", "list_providers"])
        XCTAssertNotNil(tools["cacheScope"])
        var old = meta
        old["io.modelcontextprotocol/protocolVersion"] = "2023-01-01"
        server.request(3, "tools/list", ["_meta": old])
        let refused = try XCTUnwrap(server.response(to: 3).response)
        XCTAssertEqual(refused.errorCode, -32022, refused.raw)
        XCTAssertEqual(refused.errorData?["requested"] as? String, "2023-01-01")
        XCTAssertTrue((refused.errorData?["supported"] as? [String])?.contains("2025-11-25") ?? false)
    }

    func testMisuseIsAProtocolErrorAndADownloadFailureIsAToolResult() throws {
        let http = try LoopbackHTTPServer { _ in .notFound() }
        defer { http.stop() }
        let server = try launch()
        server.request(1, "tools/call", ["name": "no_such_tool", "arguments": [:]])
        XCTAssertEqual(server.response(to: 1).response?.errorCode, -32602)
        server.request(2, "tools/call", call(2, "download_model", ["provider": "url"]))
        XCTAssertEqual(server.response(to: 2).response?.errorCode, -32602, "model is required")
        server.request(3, "tools/call", call(3, "download_model", ["provider": "url", "model": http.url("/m.bin").absoluteString,
                                                                   "revision": "main"]))
        XCTAssertEqual(server.response(to: 3).response?.errorCode, -32602, "url takes no revision")
        server.request(4, "tools/call", call(4, "download_model", params(http.url("/m.bin"))))
        let result = try XCTUnwrap(server.response(to: 4).response?.resultObject)
        XCTAssertEqual(result["isError"] as? Bool, true)
        XCTAssertEqual((result["structuredContent"] as? [String: Any])?["kind"] as? String, "not_found")
        XCTAssertEqual((result["structuredContent"] as? [String: Any])?["retryable"] as? Bool, false)
    }

    /// Progress in bytes, strictly increasing, worded for a person, and none after the result.
    func testProgressFollowsMCPsRules() throws {
        let data = TestBytes.make(count: 4_000_000, seed: 70)
        let router = Router()
        router.file("/weights.bin", StaticFile(data: data))
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 2_000_000), for: .any)
        let server = try launch()
        server.request(1, "tools/call", call(1, "download_model", params(http.url("/weights.bin"), ["connections": 1]), token: "tok"))
        let (notifications, response) = server.response(to: 1)
        XCTAssertEqual((response?.resultObject?["structuredContent"] as? [String: Any])?["status"] as? String, "complete")
        let progress = notifications.filter { $0.method == "notifications/progress" }.compactMap(\.params)
        XCTAssertGreaterThan(progress.count, 2)
        XCTAssertTrue(progress.allSatisfy { $0["progressToken"] as? String == "tok" })
        let values = progress.compactMap { ($0["progress"] as? NSNumber)?.int64Value }
        XCTAssertEqual(values, values.sorted())
        XCTAssertEqual(Set(values).count, values.count, "strictly increasing: \(values)")
        XCTAssertTrue(progress.contains { ($0["total"] as? NSNumber)?.intValue == data.count })
        XCTAssertTrue(progress.contains { ($0["message"] as? String)?.hasPrefix("Downloading weights.bin — ") ?? false }, "\(progress)")
        server.request(2, "ping")
        XCTAssertEqual(server.nextMessage()?.idDescription, "2", "nothing for the call after its result")
    }

    /// `notifications/cancelled` stops the transfer and the call gets no response, as MCP says.
    func testACancelledCallGetsNoResponseAndStopsTheTransfer() throws {
        let router = Router()
        router.file("/big.bin", StaticFile(data: TestBytes.make(count: 20_000_000, seed: 71)))
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 1_000_000), for: .any)
        let server = try launch()
        server.request(7, "tools/call", call(7, "download_model", params(http.url("/big.bin"), ["connections": 1]), token: 7))
        let deadline = Date().addingTimeInterval(10)
        while http.bodyBytesSent(path: "/big.bin") < 500_000, Date() < deadline { usleep(20_000) }
        server.notify("notifications/cancelled", ["requestId": 7, "reason": "user cancelled"])
        usleep(500_000)
        let sent = http.bodyBytesSent(path: "/big.bin")
        usleep(700_000)
        XCTAssertLessThan(http.bodyBytesSent(path: "/big.bin") - sent, 200_000, "the transfer stopped")
        server.request(8, "ping")
        let (seen, pong) = server.response(to: 8)
        XCTAssertNotNil(pong)
        XCTAssertFalse(seen.contains { $0.isResponse }, "no response for the cancelled call: \(seen)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/.modelpull/big.bin.partial"), "what arrived is kept")
    }

    func testTheTokenNeverAppearsInAnyMessageOrLog() throws {
        let secret = "hf_mcpSecretToken12345"
        let http = try LoopbackHTTPServer { request in
            // A server that quotes the credential back, as some proxies do.
            HTTPResponse(status: 401, body: .bytes(Data("bad credential: \(request.headers["Authorization"] ?? "")".utf8)))
        }
        defer { http.stop() }
        let server = try ModelPullProcess(arguments: ["mcp", "--log-level", "trace"], recordTranscript: false)
        server.request(1, "tools/call", call(1, "download_model", params(http.url("/m.bin"), ["token": secret]), token: 1))
        let (notifications, response) = server.response(to: 1)
        let result = try XCTUnwrap(response?.resultObject)
        XCTAssertEqual((result["structuredContent"] as? [String: Any])?["kind"] as? String, "auth_required")
        server.closeStdin()
        _ = server.waitForExit()
        for text in notifications.map(\.raw) + [response?.raw ?? "", server.stderrText] {
            XCTAssertFalse(text.contains(secret), text)
        }
    }

    /// Random and hostile messages: every request answered, notifications never, no crash.
    func testFuzzedMessagesAreAnsweredAndTheServerLives() throws {
        let server = try launch()
        var random = SplitMix64(seed: 72)
        let methods = ["initialize", "ping", "tools/list", "tools/call", "server/discover", "nope", "notifications/initialized"]
        let values: [Any] = [NSNull(), 1, "x", [1, 2], ["name": "download_model"], ["name": "list_models", "arguments": 3],
                             ["name": "list_downloads", "arguments": [:]], ["_meta": ["io.modelcontextprotocol/protocolVersion": 5]],
                             ["protocolVersion": ["nested": true]], ["name": String(repeating: "y", count: 5000)]]
        var expected: [String] = []
        for index in 0..<200 {
            let method = methods[Int(random.next() % UInt64(methods.count))]
            let params = values[Int(random.next() % UInt64(values.count))]
            var message: [String: Any] = ["jsonrpc": "2.0", "method": method]
            if !(params is NSNull) { message["params"] = params }
            if random.next() % 5 != 0 {
                message["id"] = index + 1
                expected.append(String(index + 1))
            }
            server.send(message, invalid: true)
            if random.next() % 10 == 0 { server.send("{\"jsonrpc\":\"2.0\",\"id\":", invalid: true) }
        }
        server.request(9999, "ping")
        // Requests run concurrently: read until every one is answered (or nothing more comes).
        var answered = Set<String>()
        let wanted = Set(expected + ["9999"])
        while !wanted.isSubset(of: answered), let message = server.nextMessage(timeout: 20) {
            if message.isResponse, let id = message.idDescription { answered.insert(id) }
        }
        XCTAssertTrue(Set(expected).isSubset(of: answered), "unanswered: \(Set(expected).subtracting(answered).sorted())")
        server.closeStdin()
        XCTAssertEqual(server.waitForExit(timeout: 5), 0, server.stderrText)
    }
}
