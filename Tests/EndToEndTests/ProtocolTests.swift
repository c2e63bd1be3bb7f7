import Foundation
import TestSupport
import XCTest

/// The JSON-RPC 2.0 contract, driven through the built binary over real pipes.
final class ProtocolTests: XCTestCase {
    func testHelloAnswersWithOneResponseLine() throws {
        let server = try ModelPullProcess()
        server.send(#"{"jsonrpc":"2.0","id":1,"method":"hello"}"#)
        let response = try XCTUnwrap(server.nextMessage())
        XCTAssertEqual(response.idDescription, "1")
        let result = try XCTUnwrap(response.resultObject)
        XCTAssertEqual(result["protocolVersion"] as? String, "1.0")
        XCTAssertEqual((result["server"] as? [String: Any])?["name"] as? String, "modelpull")
        let capabilities = try XCTUnwrap(result["capabilities"] as? [String: Any])
        XCTAssertEqual(capabilities["providers"] as? [String], try schemaProviderNames())
        server.closeStdin()
        XCTAssertNil(server.nextLine(timeout: 3), "exactly one line for one request")
        XCTAssertEqual(server.waitForExit(timeout: 3), 0)
    }

    func testIdsAreEchoedVerbatim() throws {
        let server = try ModelPullProcess()
        server.request("7", "hello")
        XCTAssertEqual(server.response(to: "7").response?.idDescription, "\"7\"")
        server.request(7, "hello")
        XCTAssertEqual(server.response(to: 7).response?.idDescription, "7")
        server.send(#"{"jsonrpc":"2.0","id":9007199254740993,"method":"hello"}"#)
        let big = try XCTUnwrap(server.nextLine())
        XCTAssertTrue(big.contains(#""id":9007199254740993"#), big)
    }

    func testUnsupportedProtocolVersionListsSupportedOnes() throws {
        let server = try ModelPullProcess()
        server.request(1, "hello", ["protocolVersions": ["2.0", "3.1"], "client": ["name": "test"]])
        let response = try XCTUnwrap(server.response(to: 1).response)
        XCTAssertEqual(response.errorCode, 1015)
        XCTAssertEqual(response.errorData?["kind"] as? String, "unsupported_protocol_version")
        XCTAssertEqual(response.errorData?["supported"] as? [String], ["1.0"])
        server.request(2, "hello", ["protocolVersions": ["1.3"]])
        XCTAssertEqual(server.response(to: 2).response?.resultObject?["protocolVersion"] as? String, "1.0")
    }

    /// Numbers the code cannot represent are refused as invalid params, never clamped and never
    /// allowed to reach a timer: a `stallSeconds` of 1e16 used to crash the process inside
    /// Foundation's networking, taking every other download with it. The JSON text is sent raw
    /// so that doubles beyond Int64 and tiny fractions reach the parser exactly as written.
    func testOutOfRangeNumbersAreInvalidParamsAndTheServerKeepsServing() throws {
        let http = try LoopbackHTTPServer { _ in .text("weights") }
        defer { http.stop() }
        let server = try ModelPullProcess(environment: ["MODELPULL_TRANSFER_ENGINE": "urlsession"])
        let model = http.url("/m.bin").absoluteString
        let cases: [(field: String, value: String)] = [
            ("stallSeconds", "1e16"), ("stallSeconds", "1e300"), ("stallSeconds", "86401"), ("stallSeconds", "0.01"),
            ("stallSeconds", "0"), ("stallSeconds", "-1"), ("connections", "0"), ("connections", "65"),
            ("connections", "9223372036854775807"), ("connections", "1e30"), ("connections", "2.5"),
        ]
        for (index, testCase) in cases.enumerated() {
            let line = #"{"jsonrpc":"2.0","id":\#(index + 1),"method":"models/download","params":{"provider":"url","model":"\#(model)","localDir":"/nonexistent/never","\#(testCase.field)":\#(testCase.value)}}"#
            server.send(line, invalid: true)
            let response = try XCTUnwrap(server.response(to: index + 1).response, "\(testCase)")
            XCTAssertEqual(response.errorCode, -32602, "\(testCase): \(response.raw)")
            XCTAssertEqual(response.errorData?["field"] as? String, "params.\(testCase.field)", response.raw)
        }
        XCTAssertEqual(http.requestCount, 0, "nothing was fetched")
        // The largest accepted value still works, end to end, on the engine that crashed.
        let directory = makeTemporaryDirectory(name)
        server.request(100, "models/download", ["provider": "url", "model": model, "localDir": directory, "stallSeconds": 86_400])
        XCTAssertEqual(server.response(to: 100).response?.resultObject?["status"] as? String, "complete")
        XCTAssertEqual(FileManager.default.contents(atPath: directory + "/m.bin"), Data("weights".utf8))
    }

    /// A parameter the provider does not read is invalid params naming it and the providers that
    /// do read it, before any request leaves: never a download that silently ignored the wish.
    func testAParameterTheProviderDoesNotUseIsInvalidParams() throws {
        let http = try LoopbackHTTPServer { _ in .text("weights") }
        defer { http.stop() }
        let server = try ModelPullProcess()
        let model = http.url("/m.bin").absoluteString
        let cases: [(provider: String, model: String, field: String, value: Any, readers: String)] = [
            ("url", model, "exclude", ["*"], "huggingface, mlx"),
            ("url", model, "include", ["*.gguf"], "huggingface, mlx"),
            ("url", model, "revision", "main", "huggingface, mlx"),
            ("url", model, "baseUrl", "http://127.0.0.1:9", "huggingface, mlx, ollama"),
            ("url", model, "insecure", true, "ollama"),
            ("ollama", "llama3.2", "localDir", "/tmp/x", "huggingface, mlx, url"),
            ("huggingface", "org/name", "fileName", "x.bin", "url"),
        ]
        for (index, testCase) in cases.enumerated() {
            server.request(index + 1, "models/download", ["provider": testCase.provider, "model": testCase.model,
                                                          testCase.field: testCase.value])
            let response = try XCTUnwrap(server.response(to: index + 1).response, "\(testCase)")
            XCTAssertEqual(response.errorCode, -32602, "\(testCase.field): \(response.raw)")
            XCTAssertEqual(response.errorData?["field"] as? String, "params.\(testCase.field)", response.raw)
            XCTAssertTrue(response.raw.contains("provider '\(testCase.provider)'") && response.raw.contains(testCase.readers),
                          response.raw)
        }
        XCTAssertEqual(http.requestCount, 0, "nothing was fetched")
        // `insecure: false` is the default, not a wish: accepted for every provider.
        let directory = makeTemporaryDirectory(name)
        server.request(100, "models/download", ["provider": "url", "model": model, "localDir": directory, "insecure": false])
        XCTAssertEqual(server.response(to: 100).response?.resultObject?["status"] as? String, "complete")
    }

    /// `"params": null` is no params (pygls sends it), and `_meta` (the envelope MCP and LSP
    /// clients attach) is accepted on every method.
    func testNullParamsAndMetaAreAcceptedOnEveryMethod() throws {
        let server = try ModelPullProcess()
        for (index, method) in ["providers/list", "downloads/list", "rpc.discover", "hello"].enumerated() {
            server.send(#"{"jsonrpc":"2.0","id":\#(index + 1),"method":"\#(method)","params":null}"#)
            XCTAssertNotNil(server.response(to: index + 1).response?.resultObject, method)
            server.send(#"{"jsonrpc":"2.0","id":\#(index + 11),"method":"\#(method)","params":{"_meta":{"progressToken":7,"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#)
            XCTAssertNotNil(server.response(to: index + 11).response?.resultObject, method)
        }
        server.send(#"{"jsonrpc":"2.0","id":30,"method":"shutdown","params":null}"#)
        XCTAssertNotNil(server.response(to: 30).response?.result)
        server.send(#"{"jsonrpc":"2.0","method":"exit","params":null}"#)
        XCTAssertEqual(server.waitForExit(timeout: 5), 0)
    }

    func testGarbageWrongTypesAndUnknownMethodsGetTheRightErrorsAndServingGoesOn() throws {
        let server = try ModelPullProcess()
        let cases: [(line: String, code: Int, id: String)] = [
            ("this is not json", -32700, "null"),
            (#"{"jsonrpc":"2.0","id":1,"method":"hello""#, -32700, "null"),
            (#"[{"jsonrpc":"2.0","id":1,"method":"hello"}]"#, -32600, "null"),
            (#"{"jsonrpc":"1.0","id":2,"method":"hello"}"#, -32600, "2"),
            (#"{"jsonrpc":"2.0","id":1.5,"method":"hello"}"#, -32600, "null"),
            (#"{"jsonrpc":"2.0","id":3,"method":42}"#, -32600, "3"),
            (#"{"jsonrpc":"2.0","id":4,"method":"models/fly"}"#, -32601, "4"),
            (#"{"jsonrpc":"2.0","id":5,"method":"models/download","params":{"provider":7,"model":"x"}}"#, -32602, "5"),
            (#"{"jsonrpc":"2.0","id":6,"method":"models/download","params":{"provider":"url"}}"#, -32602, "6"),
            (#"{"jsonrpc":"2.0","id":7,"method":"models/download","params":{"provider":"url","model":"https://x/y","revison":"main"}}"#, -32602, "7"),
            (#"{"jsonrpc":"2.0","id":8,"method":"models/download","params":["url","x"]}"#, -32602, "8"),
            (#"{"jsonrpc":"2.0","id":9,"method":"models/download","params":{"provider":"url","model":"https://x/y","include":["a",3]}}"#, -32602, "9"),
            (#"{"jsonrpc":"2.0","id":10,"method":"hello","params":{"client":"me"}}"#, -32602, "10"),
        ]
        for (line, code, id) in cases {
            server.send(line, invalid: true)
            let reply = try XCTUnwrap(server.nextMessage(), "no reply to \(line)")
            XCTAssertEqual(reply.errorCode, code, "for \(line): \(reply)")
            XCTAssertEqual(reply.idDescription, id, "for \(line)")
            XCTAssertNotNil(reply.error?["message"] as? String)
        }
        let wrongType = #"{"jsonrpc":"2.0","id":5,"method":"models/download","params":{"provider":7,"model":"x"}}"#
        server.send(wrongType, invalid: true)
        let data = try XCTUnwrap(server.nextMessage()?.errorData)
        XCTAssertEqual(data["field"] as? String, "params.provider")
        XCTAssertEqual(data["expected"] as? String, "a string")
        XCTAssertEqual(data["received"] as? String, "integer")

        server.request(100, "hello")
        XCTAssertNotNil(server.response(to: 100).response?.resultObject, "still serving")
    }

    func testNotificationsAreNeverAnswered() throws {
        let server = try ModelPullProcess()
        server.notify("hello")
        server.notify("no/such/notification", ["x": 1])
        server.notify("$/cancelRequest", ["id": 99])
        server.request(1, "hello")
        let first = try XCTUnwrap(server.nextMessage())
        XCTAssertEqual(first.idDescription, "1", "the first line must answer the request, not a notification")
    }

    func testInvalidUTF8IsAParseError() throws {
        let server = try ModelPullProcess()
        server.writeRaw(Data([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D, 0x0A]))
        XCTAssertEqual(server.nextMessage()?.errorCode, -32700)
    }

    func testOversizedLineIsDiscardedAndServingGoesOn() throws {
        let server = try ModelPullProcess()
        var huge = Data(#"{"jsonrpc":"2.0","id":1,"method":"hello","params":{"client":{"name":""#.utf8)
        huge.append(Data(repeating: UInt8(ascii: "a"), count: 17 << 20))
        huge.append(Data("\"}}}\n".utf8))
        server.writeRaw(huge)
        let reply = try XCTUnwrap(server.nextMessage(timeout: 20))
        XCTAssertEqual(reply.errorCode, -32600)
        XCTAssertEqual(reply.errorData?["reason"] as? String, "oversized")
        server.request(2, "hello")
        XCTAssertNotNil(server.response(to: 2).response?.resultObject)
    }

    func testLSPFramingIsDetectedAndUsedForReplies() throws {
        let server = try ModelPullProcess(recordTranscript: false)
        let body = #"{"jsonrpc":"2.0","id":1,"method":"hello"}"#
        server.writeRaw(Data("Content-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
        let header = try XCTUnwrap(server.nextLine())
        XCTAssertTrue(header.hasPrefix("Content-Length: "), header)
        XCTAssertEqual(server.nextLine(), "\r")
        server.closeStdin()
        // LSP bodies end without a newline: the body is what remains at EOF.
        let reply = try XCTUnwrap(server.nextLine())
        XCTAssertEqual(Int(header.dropFirst("Content-Length: ".count).dropLast()), reply.utf8.count)
        XCTAssertEqual(WireMessage(line: reply)?.resultObject?["protocolVersion"] as? String, "1.0")
    }

    /// Hermetic: OLLAMA_HOST names a closed port, whatever runs on this machine.
    func testProvidersListSaysWhyAProviderCannotServe() throws {
        let closed = try LoopbackHTTPServer { _ in .notFound() }
        let port = closed.port
        closed.stop()
        let server = try ModelPullProcess(environment: ["OLLAMA_HOST": "127.0.0.1:\(port)"])
        server.request(1, "providers/list")
        let providers = try XCTUnwrap(server.response(to: 1).response?.resultObject?["providers"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: providers.map { ($0["name"] as! String, $0) })
        for name in ["huggingface", "mlx", "url"] { XCTAssertEqual(byName[name]?["available"] as? Bool, true, name) }
        XCTAssertEqual(byName["ollama"]?["available"] as? Bool, false)
        XCTAssertTrue((byName["ollama"]?["reason"] as? String ?? "").contains("127.0.0.1:\(port)"), "\(byName["ollama"] ?? [:])")
        server.request(2, "models/download", ["provider": "ollama", "model": "llama3.2", "source": "server"])
        XCTAssertEqual(server.response(to: 2).response?.errorData?["kind"] as? String, "provider_unavailable")
    }

    func testRPCDiscoverReturnsTheOpenRPCDocument() throws {
        let server = try ModelPullProcess()
        server.request(1, "rpc.discover")
        let document = try XCTUnwrap(server.response(to: 1).response?.resultObject)
        XCTAssertNotNil(document["openrpc"] as? String)
        let methods = try XCTUnwrap(document["methods"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        for name in ["hello", "models/download", "downloads/list", "downloads/cancel", "providers/list", "shutdown"] {
            XCTAssertTrue(methods.contains(name), "rpc.discover lacks \(name)")
        }
    }

    func testShutdownThenExit() throws {
        let server = try ModelPullProcess()
        server.request(1, "shutdown")
        let reply = try XCTUnwrap(server.response(to: 1).response)
        XCTAssertTrue(reply.result is NSNull, "\(reply)")
        server.request(2, "models/download", ["provider": "url", "model": "http://127.0.0.1:9/x.bin"])
        XCTAssertEqual(server.response(to: 2).response?.errorData?["kind"] as? String, "cancelled")
        server.notify("exit")
        XCTAssertEqual(server.waitForExit(timeout: 3), 0)
    }

    func testStdinEOFExitsPromptlyWithAnswersFlushed() throws {
        let server = try ModelPullProcess()
        server.request(1, "hello")
        server.closeStdin()
        XCTAssertNotNil(server.response(to: 1).response)
        XCTAssertEqual(server.waitForExit(timeout: 2.5), 0)
    }

    func testSIGTERMExitsCleanly() throws {
        let server = try ModelPullProcess()
        server.request(1, "hello")
        XCTAssertNotNil(server.response(to: 1).response)
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(timeout: 2.5), 0)
    }
}

/// The provider names schema/v1 promises, in its order: what `hello` must list.
private func schemaProviderNames() throws -> [String] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let data = try Data(contentsOf: root.appendingPathComponent("schema/v1/defs.schema.json"))
    let defs = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    let provider = try XCTUnwrap((defs["$defs"] as? [String: Any])?["Provider"] as? [String: Any])
    return try XCTUnwrap(provider["enum"] as? [String])
}
