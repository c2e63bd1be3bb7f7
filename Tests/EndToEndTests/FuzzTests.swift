import Foundation
import TestSupport
import XCTest

/// Hostile client input, generated from a fixed seed so any failure replays exactly: random
/// bytes, truncated and deeply nested JSON, wrong types, huge strings and numbers, invalid UTF-8,
/// in both framings. The server must not crash or hang, must answer every request that has a
/// valid id exactly once, and must still serve `hello` afterwards.
final class FuzzTests: XCTestCase {
    func testTenThousandHostileNDJSONMessages() throws {
        var generator = HostileMessageGenerator(seed: 0x5EED_2026)
        let server = try ModelPullProcess(recordTranscript: false)
        server.send(#"{"jsonrpc":"2.0","id":"fix-framing","method":"hello"}"#)
        XCTAssertNotNil(server.response(to: "fix-framing").response)

        var expectedIds = Set<String>()
        var sent: [String: [UInt8]] = [:]
        var payload = Data()
        for index in 0..<10_000 {
            let message = generator.next(index: index)
            if let id = message.answerableId { expectedIds.insert(id); sent[id] = message.bytes }
            var line = message.bytes
            line.removeAll { $0 == UInt8(ascii: "\n") }
            payload.append(contentsOf: line)
            payload.append(UInt8(ascii: "\n"))
        }
        payload.append(Data(#"{"jsonrpc":"2.0","id":"still-alive","method":"hello"}"#.utf8 + [UInt8(ascii: "\n")]))
        expectedIds.insert("\"still-alive\"")

        let answered = try feedAndCollect(server, payload: payload, until: "\"still-alive\"")
        let missing = expectedIds.subtracting(answered.keys)
        XCTAssertTrue(missing.isEmpty, "unanswered requests: \(Array(missing.sorted().prefix(10))) running: \(server.process.isRunning) first: \(missing.sorted().first.flatMap { sent[$0] }.map { String(decoding: $0.prefix(300), as: UTF8.self) } ?? "")")
        let duplicates = answered.filter { $0.value > 1 && expectedIds.contains($0.key) }
        XCTAssertTrue(duplicates.isEmpty, "answered twice: \(Array(duplicates.keys.sorted().prefix(10)))")

        server.request("after", "hello")
        XCTAssertNotNil(server.response(to: "after").response?.resultObject)
        server.closeStdin()
        XCTAssertEqual(server.waitForExit(timeout: 5), 0, server.stderrText.suffix(2000).description)
    }

    func testHostileLSPFrames() throws {
        var generator = HostileMessageGenerator(seed: 0x15B_F00D)
        let server = try ModelPullProcess(arguments: ["serve", "--framing", "lsp"], recordTranscript: false)
        var payload = Data()
        var expectedIds = Set<String>()
        for index in 0..<2_000 {
            let message = generator.next(index: index)
            if index % 97 == 13 {
                // A broken header block: the server reports it and finds the next frame.
                payload.append(Data("Content-Length: banana\r\n\r\n".utf8))
                continue
            }
            if let id = message.answerableId { expectedIds.insert(id) }
            payload.append(Data("Content-Length: \(message.bytes.count)\r\n\r\n".utf8))
            payload.append(contentsOf: message.bytes)
        }
        let final = Data(#"{"jsonrpc":"2.0","id":"still-alive","method":"hello"}"#.utf8)
        payload.append(Data("Content-Length: \(final.count)\r\n\r\n".utf8) + final)
        server.writeRaw(payload)
        server.closeStdin()

        // Replies are LSP frames too: split them by their headers.
        var output = Data()
        while let line = server.nextLine(timeout: 30) { output.append(Data((line + "\n").utf8)) }
        let bodies = LSPFrames.split(output)
        var answered: [String: Int] = [:]
        for body in bodies {
            guard let message = WireMessage(line: String(decoding: body, as: UTF8.self)) else {
                XCTFail("a reply frame is not JSON: \(String(decoding: body.prefix(200), as: UTF8.self))")
                continue
            }
            if let id = message.idDescription { answered[id, default: 0] += 1 }
        }
        XCTAssertTrue(expectedIds.subtracting(answered.keys).isEmpty, "unanswered: \(Array(expectedIds.subtracting(answered.keys).sorted().prefix(10))) of \(expectedIds.count); frames: \(bodies.count)")
        XCTAssertEqual(answered["\"still-alive\""], 1)
        XCTAssertEqual(server.waitForExit(timeout: 5), 0)
    }

    /// Writes the payload on a separate thread (the pipe would fill) while reading replies,
    /// counting answers per id, until the reply to `lastId`.
    private func feedAndCollect(_ server: ModelPullProcess, payload: Data, until lastId: String) throws -> [String: Int] {
        let writer = Thread { server.writeRaw(payload) }
        writer.start()
        var answered: [String: Int] = [:]
        while let line = server.nextLine(timeout: 60) {
            let message = try XCTUnwrap(WireMessage(line: line), "every reply is one JSON message: \(line.prefix(200))")
            XCTAssertTrue(message.isResponse, "only responses are expected: \(line.prefix(200))")
            if let id = message.idDescription { answered[id, default: 0] += 1 }
            if message.idDescription == lastId { break }
        }
        return answered
    }
}

/// Splits a byte stream of LSP frames into bodies.
enum LSPFrames {
    static func split(_ data: Data) -> [Data] {
        var bodies: [Data] = []
        var rest = data[...]
        let separator = Data("\r\n\r\n".utf8)
        while let end = rest.range(of: separator) {
            let header = String(decoding: rest[rest.startIndex..<end.lowerBound], as: UTF8.self)
            guard let length = header.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }),
                  rest.distance(from: end.upperBound, to: rest.endIndex) >= length else { break }
            let bodyEnd = rest.index(end.upperBound, offsetBy: length)
            bodies.append(Data(rest[end.upperBound..<bodyEnd]))
            rest = rest[bodyEnd...]
        }
        return bodies
    }
}

/// Deterministic hostile messages. `answerableId` is set when the message is a request with a
/// valid id, which the server must answer exactly once.
struct HostileMessageGenerator {
    struct Message {
        var bytes: [UInt8]
        var answerableId: String?
    }

    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    private mutating func random() -> UInt64 { generator.next() }

    private mutating func below(_ bound: Int) -> Int { Int(random() % UInt64(bound)) }

    private mutating func pick<T>(_ options: [T]) -> T { options[below(options.count)] }

    private let methods = ["hello", "models/download", "downloads/list", "downloads/cancel", "providers/list",
                           "models/list", "models/delete", "no/such/method", "$/unknown", "", "HELLO"]

    mutating func next(index: Int) -> Message {
        let id = "\"f\(index)\""
        switch below(12) {
        case 0:  // random bytes
            return Message(bytes: (0..<below(200)).map { _ in UInt8(truncatingIfNeeded: random()) })
        case 1:  // a valid request, truncated somewhere
            let full = Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"hello","params":{"client":{"name":"x"}}}"#.utf8)
            return Message(bytes: Array(full.prefix(below(full.count))))
        case 2:  // deeply nested params
            let depth = 50 + below(5000)
            let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            return Message(bytes: Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"hello","params":{"client":\#(nested)}}"#.utf8),
                           answerableId: depth < 100 ? id : nil)
        case 3:  // invalid UTF-8 inside a string
            var bytes = Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"hello","params":{"client":{"name":"#.utf8)
            bytes += [0x22, 0xC3, 0x28, 0xFF, 0xFE, 0x22]
            bytes += Array("}}}".utf8)
            return Message(bytes: bytes)
        case 4:  // huge string
            // Mostly moderate sizes so the suite stays quick in debug builds, now and then 2 MB.
            let size = index % 500 == 4 ? 2_000_000 : pick([1_000, 20_000, 100_000])
            let text = String(repeating: "A", count: size)
            return Message(bytes: Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"models/download","params":{"provider":"none","model":"\#(text)"}}"#.utf8),
                           answerableId: id)
        case 5:  // huge and odd numbers as ids and params
            let number = pick(["1e999", "-0", "123456789012345678901234567890", "1.5", "0.0000001", "9223372036854775807", "-9223372036854775808"])
            let asId = below(2) == 0
            let body = asId
                ? #"{"jsonrpc":"2.0","id":\#(number),"method":"hello"}"#
                : #"{"jsonrpc":"2.0","id":\#(id),"method":"models/download","params":{"provider":"url","model":"x","connections":\#(number)}}"#
            // Integer ids repeat across messages, so only the string-id variant is counted; and a
            // number beyond any double (1e999) makes the whole message unparseable (RFC 8259 §6
            // lets parsers limit range), which is answered as a parse error with a null id.
            return Message(bytes: Array(body.utf8), answerableId: asId || number == "1e999" ? nil : id)
        case 6:  // wrong types in every position
            let value = pick(["null", "true", "12", "\"s\"", "[]", "{}", "[1,2]", "{\"a\":{}}"])
            let field = pick(["provider", "model", "include", "revision", "token", "connections", "stallSeconds", "insecure", "downloadId", "protocolVersions", "client"])
            let method = pick(["models/download", "downloads/cancel", "hello", "models/delete", "models/list"])
            return Message(bytes: Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":{"\#(field)":\#(value)}}"#.utf8),
                           answerableId: id)
        case 7:  // envelope mistakes
            let body = pick([
                #"{"jsonrpc":"2.0","id":\#(id)}"#,
                #"{"jsonrpc":"1.0","id":\#(id),"method":"hello"}"#,
                #"{"id":\#(id),"method":"hello"}"#,
                #"{"jsonrpc":"2.0","id":\#(id),"method":"hello","params":"text"}"#,
                #"{"jsonrpc":"2.0","id":\#(id),"method":null}"#,
            ])
            return Message(bytes: Array(body.utf8), answerableId: id)
        case 8:  // batches, scalars, notifications with junk
            return Message(bytes: Array(pick(["[]", "[1,2,3]", "42", "\"str\"", "null", "true",
                                              #"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":[]}}"#,
                                              #"{"jsonrpc":"2.0","method":"notifications/cancelled"}"#,
                                              #"{"jsonrpc":"2.0","method":"exit","params":{"now":false},"id":null}"#]).utf8))
        case 9:  // a random known or unknown method with random params
            let method = pick(methods)
            return Message(bytes: Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":{"x\#(below(9))":\#(below(1000))}}"#.utf8),
                           answerableId: id)
        case 10:  // control characters and escapes
            return Message(bytes: Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"hel\u0000lo\ud800"}"#.utf8), answerableId: nil)
        default:  // valid requests mixed in
            let method = pick(["hello", "providers/list", "downloads/list"])
            return Message(bytes: Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)"}"#.utf8), answerableId: id)
        }
    }
}
