import XCTest
@testable import ModelPullRPC

final class FramingTests: XCTestCase {
    private struct Decoded: Equatable {
        var events: [FramerEvent]
        var mode: Framing?
    }

    /// Feeds `chunks` one by one, draining after each (as the reader does), then finishes.
    private func decode(_ chunks: [[UInt8]], choice: FramingChoice = .auto, limit: Int = MessageFramer.defaultMaxMessageBytes,
                        finish: Bool = true) -> Decoded {
        var framer = MessageFramer(choice: choice, maxMessageBytes: limit)
        var events: [FramerEvent] = []
        for chunk in chunks {
            framer.append(chunk)
            while let event = framer.nextEvent() { events.append(event) }
        }
        if finish {
            framer.finish()
            while let event = framer.nextEvent() { events.append(event) }
        }
        return Decoded(events: events, mode: framer.mode)
    }

    private func decode(_ text: String, choice: FramingChoice = .auto, limit: Int = MessageFramer.defaultMaxMessageBytes) -> Decoded {
        decode([Array(text.utf8)], choice: choice, limit: limit)
    }

    private func message(_ text: String) -> FramerEvent { .message(Array(text.utf8)) }

    private func lspFrame(_ body: String, headerName: String = "Content-Length") -> String {
        "\(headerName): \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// Splitting the input at any single position, or into single bytes, changes nothing.
    private func assertChunkingInvariant(_ bytes: [UInt8], choice: FramingChoice = .auto, limit: Int = MessageFramer.defaultMaxMessageBytes,
                                         file: StaticString = #filePath, line: UInt = #line) {
        let whole = decode([bytes], choice: choice, limit: limit)
        for cut in 0...bytes.count {
            let split = decode([Array(bytes[..<cut]), Array(bytes[cut...])], choice: choice, limit: limit)
            XCTAssertEqual(split, whole, "split at byte \(cut)", file: file, line: line)
        }
        XCTAssertEqual(decode(bytes.map { [$0] }, choice: choice, limit: limit), whole, "byte by byte", file: file, line: line)
    }

    // MARK: NDJSON

    func testNDJSONWithCRLFAndBlankLines() {
        let decoded = decode("{\"a\":1}\r\n\r\n   \n\t\r\n{\"b\":\"é\"}\n\n[1]")
        XCTAssertEqual(decoded.mode, .ndjson)
        XCTAssertEqual(decoded.events, [message("{\"a\":1}"), message("{\"b\":\"é\"}"), message("[1]")])
    }

    func testNDJSONEveryChunkBoundary() {
        let stream = "\u{FEFF}\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n\n{\"x\":\"日本😀\"}\n[2]\r\n"
        let decoded = decode(stream)
        XCTAssertEqual(decoded.events.count, 3)
        XCTAssertEqual(decoded.events.last, message("[2]"))
        assertChunkingInvariant(Array(stream.utf8))
    }

    func testUnterminatedLastLineIsDeliveredAtEndOfInput() {
        XCTAssertEqual(decode("{\"a\":1}\n{\"b\":2}").events, [message("{\"a\":1}"), message("{\"b\":2}")])
        XCTAssertEqual(decode([Array("{\"b\":2}".utf8)], finish: false).events, [], "not before end of input")
        XCTAssertEqual(decode("{}\n   ").events, [message("{}")], "trailing whitespace is not a message")
    }

    func testOversizedLineIsSkippedAndNextLineParses() {
        let long = String(repeating: "x", count: 5_000)
        let stream = Array("{\"before\":1}\n\(long)\r\n{\"after\":2}\n".utf8)
        let expected: [FramerEvent] = [message("{\"before\":1}"), .oversized(5_000), message("{\"after\":2}")]
        XCTAssertEqual(decode([stream], limit: 1_024).events, expected, "arriving at once")
        let chunks = stride(from: 0, to: stream.count, by: 100).map { Array(stream[$0..<min($0 + 100, stream.count)]) }
        XCTAssertEqual(decode(chunks, limit: 1_024).events, expected, "streaming in 100-byte chunks")
        assertChunkingInvariant(stream, limit: 1_024)
    }

    func testLimitIsInclusiveAndIgnoresCR() {
        let atLimit = String(repeating: "a", count: 1_024)
        XCTAssertEqual(decode(atLimit + "\r\n" + atLimit + "a\n", choice: .ndjson, limit: 1_024).events, [message(atLimit), .oversized(1_025)])
        XCTAssertEqual(decode([Array((atLimit + "\r").utf8), Array("\n".utf8)], choice: .ndjson, limit: 1_024).events, [message(atLimit)])
    }

    func testEndlessLineKeepsMemoryBounded() {
        let limit = 1_024
        let chunk = [UInt8](repeating: UInt8(ascii: "z"), count: 64 * 1024)
        var framer = MessageFramer(choice: .ndjson, maxMessageBytes: limit)
        for _ in 0..<160 {  // 10 MiB without a newline
            framer.append(chunk)
            XCTAssertNil(framer.nextEvent())
            XCTAssertLessThanOrEqual(framer.storedByteCount, limit + chunk.count + 1)
        }
        framer.append(Array("zz\n{}\n".utf8))
        XCTAssertEqual(framer.nextEvent(), .oversized(160 * chunk.count + 2))
        XCTAssertEqual(framer.nextEvent(), message("{}"))
        XCTAssertNil(framer.nextEvent())
    }

    func testOversizedLineCutByEndOfInputIsReported() {
        XCTAssertEqual(decode(String(repeating: "q", count: 3_000) + "\r", choice: .ndjson, limit: 1_024).events, [.oversized(3_000)])
    }

    // MARK: LSP

    func testLSPFramesWithOtherHeadersAndLowercaseNames() {
        let stream = lspFrame("{\"a\":1}") + "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n[]"
            + lspFrame("{\"u\":\"ü😀\"}", headerName: "CONTENT-LENGTH")
        let decoded = decode(stream)
        XCTAssertEqual(decoded.mode, .lsp)
        XCTAssertEqual(decoded.events, [message("{\"a\":1}"), message("[]"), message("{\"u\":\"ü😀\"}")])
    }

    func testLSPEveryChunkBoundary() {
        let stream = "\u{FEFF}\r\n" + lspFrame("{\"jsonrpc\":\"2.0\",\"id\":1}") + "\r\n" + lspFrame("\"日本\"")
            + "Content-Length:   3  \r\nX-Other: y\r\n\r\n[1]"
        XCTAssertEqual(decode(stream).events.count, 3)
        assertChunkingInvariant(Array(stream.utf8))
    }

    func testLSPToleratesBareLFHeaders() {
        XCTAssertEqual(decode("Content-Length: 2\n\n{}Content-Length: 2\r\n\n[]").events, [message("{}"), message("[]")])
    }

    func testOversizedLSPBodyIsSkipped() {
        let body = String(repeating: "b", count: 5_000)
        let stream = Array((lspFrame(body) + lspFrame("{\"next\":true}")).utf8)
        let expected: [FramerEvent] = [.oversized(5_000), message("{\"next\":true}")]
        XCTAssertEqual(decode([stream], limit: 1_024).events, expected)
        let chunks = stride(from: 0, to: stream.count, by: 333).map { Array(stream[$0..<min($0 + 333, stream.count)]) }
        XCTAssertEqual(decode(chunks, limit: 1_024).events, expected)
        assertChunkingInvariant(stream, limit: 1_024)

        var framer = MessageFramer(choice: .lsp, maxMessageBytes: 1_024)
        framer.append(Array("Content-Length: 104857600\r\n\r\n".utf8))
        let chunk = [UInt8](repeating: 0x41, count: 64 * 1024)
        for _ in 0..<1_599 {
            framer.append(chunk)
            XCTAssertNil(framer.nextEvent())
            XCTAssertLessThanOrEqual(framer.storedByteCount, 2 * chunk.count)
        }
        framer.append(chunk)
        XCTAssertEqual(framer.nextEvent(), .oversized(104_857_600))
    }

    func testMalformedHeadersAreReportedAndFramingResumes() {
        let cases: [(String, String)] = [
            ("Content-Type: text/plain\r\n\r\n", "missing Content-Length header"),
            ("Content-Length: abc\r\n\r\n", "invalid Content-Length value 'abc'"),
            ("Content-Length: -1\r\n\r\n", "invalid Content-Length value '-1'"),
            ("Content-Length: 99999999999999999999\r\n\r\n", "invalid Content-Length value '99999999999999999999'"),
            ("Content-Length: 2\r\nContent-Length: 3\r\n\r\n", "conflicting Content-Length headers"),
            ("Garbage line\r\n\r\n", "header line without ':' (Garbage line)"),
        ]
        for (header, problem) in cases {
            let decoded = decode(header + lspFrame("{}"), choice: .lsp)
            XCTAssertEqual(decoded.events, [.malformedHeader(problem), message("{}")], header)
        }
    }

    func testOverlongHeaderLineIsBoundedAndReported() {
        let header = "X-Junk: " + String(repeating: "j", count: 100_000) + "\r\n\r\n"
        var framer = MessageFramer(choice: .lsp)
        var events: [FramerEvent] = []
        for chunk in Array((header + lspFrame("[]")).utf8).framingTestChunks(ofSize: 4_096) {
            framer.append(chunk)
            while let event = framer.nextEvent() { events.append(event) }
            XCTAssertLessThanOrEqual(framer.storedByteCount, MessageFramer.maxHeaderLineBytes + 2 * 4_096)
        }
        XCTAssertEqual(events, [.malformedHeader("header line longer than 8192 bytes"), message("[]")])
    }

    func testTruncatedLSPFrameAtEndOfInputIsDropped() {
        XCTAssertEqual(decode(lspFrame("{}") + "Content-Length: 10\r\n\r\n{\"a\"").events, [message("{}")])
        XCTAssertEqual(decode(lspFrame("{}") + "Content-Len").events, [message("{}")])
    }

    // MARK: Detection and forced modes

    func testAutoDetection() {
        XCTAssertEqual(decode(" \r\n\t" + lspFrame("{}")).mode, .lsp)
        XCTAssertEqual(decode("\u{FEFF}\n " + lspFrame("{}")).events, [message("{}")])
        XCTAssertEqual(decode("\u{FEFF}  \n{}\n").mode, .ndjson)
        XCTAssertEqual(decode("\u{FEFF}  \n{}\n").events, [message("{}")])
        XCTAssertEqual(decode("[1]\n").mode, .ndjson)
        XCTAssertEqual(decode("\u{1}junk\n").mode, .ndjson, "anything that is not a Content- header means NDJSON")
        XCTAssertEqual(decode("garbage\n{}\n").events, [message("garbage"), message("{}")],
                       "a garbage first line stays NDJSON so it can be answered with a parse error")
        XCTAssertEqual(decode("content-length: 2\r\n\r\n{}").mode, .lsp, "header names are case-insensitive")
        XCTAssertEqual(decode([Array("Cont".utf8), Array("ent-Length: 2\r\n\r\n{}".utf8)]).events, [message("{}")],
                       "detection waits for enough bytes to tell")
        XCTAssertEqual(decode("42\n").events, [message("42")])
        XCTAssertEqual(decode(" \n\r\n  ").mode, nil, "whitespace alone decides nothing")
        XCTAssertEqual(decode("").mode, nil)
    }

    func testByteOrderMarkSplitAcrossChunks() {
        let decoded = decode([[0xEF], [0xBB], [0xBF, UInt8(ascii: "{")], Array("}\n".utf8)])
        XCTAssertEqual(decoded, Decoded(events: [message("{}")], mode: .ndjson))
        XCTAssertEqual(decode([[0xEF], [0x41]]).events, [.message([0xEF, 0x41])], "not a BOM after all")
    }

    func testForcedModes() {
        XCTAssertEqual(decode([], choice: .lsp, finish: false).mode, .lsp, "known before any byte")
        XCTAssertEqual(decode("hello\n", choice: .ndjson).events, [message("hello")])
        XCTAssertEqual(decode("{}\n\n", choice: .lsp).events, [.malformedHeader("header line without ':' ({})")])
    }

    // MARK: Encoder

    func testFrameEncoder() {
        let body = Array("{\"é\":1}".utf8)
        XCTAssertEqual(FrameEncoder.encode(body, as: .ndjson), body + [0x0A])
        XCTAssertEqual(FrameEncoder.encode(body, as: .lsp), Array("Content-Length: 8\r\n\r\n".utf8) + body)
        for framing in Framing.allCases {
            let stream = FrameEncoder.encode(body, as: framing) + FrameEncoder.encode([], as: framing) + FrameEncoder.encode(body, as: framing)
            let expected: [FramerEvent] = framing == .lsp ? [.message(body), .message([]), .message(body)] : [.message(body), .message(body)]
            XCTAssertEqual(decode([stream]), Decoded(events: expected, mode: framing), "\(framing)")
        }
    }
}

fileprivate extension Array {
    /// Consecutive slices of at most `size` elements (test helper).
    func framingTestChunks(ofSize size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
