import Foundation
import XCTest
@testable import ModelPullRPC

final class JSONParserTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue {
        try JSONParser().parse(Array(text.utf8))
    }

    private func parseError(_ bytes: [UInt8], parser: JSONParser = JSONParser(),
                            file: StaticString = #filePath, line: UInt = #line) -> JSONParseError? {
        do {
            let value = try parser.parse(bytes)
            XCTFail("expected a parse error, got \(value)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    private func assertRejects(_ text: String, _ kind: JSONParseError.Kind, at offset: Int? = nil,
                               file: StaticString = #filePath, line: UInt = #line) {
        guard let error = parseError(Array(text.utf8), file: file, line: line) else { return }
        XCTAssertEqual(error.kind, kind, "\(text.debugDescription): \(error)", file: file, line: line)
        if let offset { XCTAssertEqual(error.offset, offset, "\(text.debugDescription): \(error)", file: file, line: line) }
    }

    // MARK: Valid documents

    func testScalars() throws {
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse(" false "), .bool(false))
        XCTAssertEqual(try parse("\"hi\""), .string("hi"))
        XCTAssertEqual(try parse("0"), .integer(0))
        XCTAssertEqual(try parse("-0"), .integer(0))
        XCTAssertEqual(try parse("-12"), .integer(-12))
        XCTAssertEqual(try parse("0.5"), .double(0.5))
        XCTAssertEqual(try parse("-1.25e-2"), .double(-0.0125))
        XCTAssertEqual(try parse("1E+2"), .double(100))
    }

    func testContainersKeepOrderAndNesting() throws {
        let value = try parse(#" {"jsonrpc":"2.0", "id" : 7, "method":"pull","params":{"b":[1,2,{"c":null}],"a":true}} "#)
        XCTAssertEqual(value["jsonrpc"]?.stringValue, "2.0")
        XCTAssertEqual(value["id"], .integer(7))
        XCTAssertEqual(value.objectValue?.keys, ["jsonrpc", "id", "method", "params"])
        XCTAssertEqual(value["params"]?.objectValue?.keys, ["b", "a"])
        XCTAssertEqual(value["params"]?["b"]?[2]?["c"], .null)
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("{ }"), .object([:]))
        XCTAssertEqual(try parse("[[],[[]],{}]"), [[], [[]], [:]])
    }

    func testDuplicateKeysLastValueWinsAtFirstPosition() throws {
        let value = try parse(#"{"a":1,"b":2,"a":3}"#)
        XCTAssertEqual(value.objectValue?.keys, ["a", "b"])
        XCTAssertEqual(value["a"], .integer(3))
    }

    func testStringEscapesAndUnicode() throws {
        XCTAssertEqual(try parse(#""\" \\ \/ \b \f \n \r \t""#), .string("\" \\ / \u{8} \u{C} \n \r \t"))
        XCTAssertEqual(try parse(#""\u0041\u00e9\u20AC""#), .string("Aé€"))
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try parse(#""\u0000""#), .string("\u{0}"))
        XCTAssertEqual(try parse("\"héllo wörld 日本 😀\""), .string("héllo wörld 日本 😀"))
    }

    func testRoundTripThroughWriter() throws {
        let documents = [
            #"{"jsonrpc":"2.0","id":9223372036854775807,"result":{"path":"/models/a b","sizes":[0,-1,1.5,1e+300,5e-324]}}"#,
            #"[null,true,false,"\u0001\"\\","ünïcödé 😀",{"":{}},[]]"#,
            #"{"b":1,"a":2,"c":[{"z":null,"y":-9223372036854775808}]}"#,
            #"[0.1,1.0,100.0,-0.0,1e-07,123456789.123]"#,
        ]
        for text in documents {
            let value = try parse(text)
            let written = JSONWriter().encode(value)
            let reparsed = try JSONParser().parse(written)
            XCTAssertEqual(reparsed, value, text)
            XCTAssertEqual(JSONWriter().encode(reparsed), written, "writing is stable: \(text)")
        }
    }

    func testAllInputRepresentations() throws {
        let text = #"{"k":[1,"v"]}"#
        let expected: JSONValue = ["k": [1, "v"]]
        XCTAssertEqual(try JSONParser().parse(text), expected)
        XCTAssertEqual(try JSONParser().parse(Data(text.utf8)), expected)
        XCTAssertEqual(try JSONParser().parse(Array(("xx" + text).utf8)[2...]), expected)
        let bytes = Array(text.utf8)
        XCTAssertEqual(try bytes.withUnsafeBytes { buffer throws(JSONParseError) in try JSONParser().parse(buffer) }, expected)
    }

    // MARK: Number exactness

    func testIntegerVersusDoubleExactness() throws {
        XCTAssertEqual(try parse("1"), .number(.integer(1)))
        XCTAssertEqual(try parse("1.0"), .number(.double(1.0)))
        XCTAssertEqual(try parse("1.5"), .number(.double(1.5)))
        XCTAssertEqual(try parse("1e3"), .number(.double(1000)))
        XCTAssertEqual(try parse("9223372036854775807"), .integer(.max))
        XCTAssertEqual(try parse("-9223372036854775808"), .integer(.min))
        XCTAssertEqual(try parse("9223372036854775808"), .number(.double(9223372036854775808.0)))
        XCTAssertEqual(try parse("-9223372036854775809"), .number(.double(-9223372036854775809.0)))
        XCTAssertEqual(try parse("9007199254740993"), .integer(9007199254740993), "beyond 2^53 stays exact")

        // What request-id validation sees.
        XCTAssertEqual(try parse("1").typeName, "integer")
        XCTAssertEqual(try parse("1.5").typeName, "number")
        XCTAssertEqual(try parse("1.0").numberValue?.isIntegral, true)
        XCTAssertEqual(try parse("1.5").numberValue?.isIntegral, false)
        XCTAssertEqual(try parse("1.5").int64Value, nil)
        XCTAssertEqual(try parse("1e3").int64Value, 1000)
        XCTAssertEqual(try parse("9223372036854775808").int64Value, nil)

        // Echo verbatim.
        XCTAssertEqual(JSONWriter().encodeString(try parse("9007199254740993")), "9007199254740993")
        XCTAssertEqual(JSONWriter().encodeString(try parse("-9223372036854775808")), "-9223372036854775808")
    }

    func testInexactIntegersCanBeRefused() {
        let parser = JSONParser(allowsInexactIntegers: false)
        XCTAssertEqual(parseError(Array("18446744073709551615".utf8), parser: parser)?.kind, .numberOutOfRange)
        XCTAssertEqual(try parser.parse("[9223372036854775807]"), [.integer(.max)])
    }

    func testHugeIntegerLiteralBecomesDoubleButBeyondDoubleIsAnError() throws {
        XCTAssertEqual(try parse(String(repeating: "9", count: 300)).typeName, "number")
        assertRejects(String(repeating: "9", count: 400), .numberOutOfRange, at: 0)
        assertRejects("[1e309]", .numberOutOfRange, at: 1)
        assertRejects("-1e400", .numberOutOfRange, at: 0)
        XCTAssertEqual(try parse("1e-400"), .double(0), "underflow rounds to zero, which is finite")
    }

    // MARK: Rejections

    func testRejectsMalformedNumbers() {
        assertRejects("01", .leadingZero, at: 0)
        assertRejects("-01", .leadingZero, at: 0)
        assertRejects("[00]", .leadingZero, at: 1)
        assertRejects("-", .unexpectedEndOfInput)
        assertRejects("1.", .unexpectedEndOfInput)
        assertRejects("1.e3", .invalidNumber, at: 2)
        assertRejects("1e", .unexpectedEndOfInput)
        assertRejects("1e+", .unexpectedEndOfInput)
        assertRejects("-a", .invalidNumber, at: 1)
        assertRejects(".5", .unexpectedCharacter, at: 0)
        assertRejects("+1", .unexpectedCharacter, at: 0)
        assertRejects("0x10", .trailingData, at: 1)
        assertRejects("NaN", .unexpectedCharacter, at: 0)
        assertRejects("Infinity", .unexpectedCharacter, at: 0)
        assertRejects("-Infinity", .invalidNumber, at: 1)
        assertRejects("[nan]", .unexpectedCharacter, at: 2)
    }

    func testRejectsStructuralErrors() {
        assertRejects("", .unexpectedEndOfInput, at: 0)
        assertRejects("   ", .unexpectedEndOfInput, at: 3)
        assertRejects("[1,]", .unexpectedCharacter, at: 3)
        assertRejects("[1 2]", .unexpectedCharacter, at: 3)
        assertRejects("{\"a\" 1}", .unexpectedCharacter, at: 5)
        assertRejects("{\"a\":1,}", .unexpectedCharacter, at: 7)
        assertRejects("{a:1}", .unexpectedCharacter, at: 1)
        assertRejects("{\"a\":1", .unexpectedEndOfInput, at: 6)
        assertRejects("[", .unexpectedEndOfInput, at: 1)
        assertRejects("]", .unexpectedCharacter, at: 0)
        assertRejects("tru", .unexpectedEndOfInput)
        assertRejects("trux", .unexpectedCharacter, at: 3)
        assertRejects("nul", .unexpectedEndOfInput)
        assertRejects("{} {}", .trailingData, at: 3)
        assertRejects("1 2", .trailingData, at: 2)
        assertRejects("\"a\"x", .trailingData, at: 3)
        assertRejects("// comment\n1", .unexpectedCharacter, at: 0)
        assertRejects("'single'", .unexpectedCharacter, at: 0)
        assertRejects("\u{FEFF}{}", .unexpectedCharacter, at: 0)
    }

    func testErrorMessagesNameTheCharacterAndOffset() {
        let error = parseError(Array(#"{"jsonrpc": "2.0", x}"#.utf8))
        XCTAssertEqual(error?.description, "unexpected character 'x', expected a string key at byte 19")
        XCTAssertEqual(parseError([0x5B, 0xFF])?.description, "unexpected byte 0xFF at byte 1")
        XCTAssertEqual(parseError(Array("[1,2".utf8))?.offset, 4)
    }

    func testRejectsBadStrings() {
        assertRejects("\"abc", .unexpectedEndOfInput, at: 0)
        assertRejects("\"a\nb\"", .controlCharacterInString, at: 2)
        assertRejects("\"tab\there\"", .controlCharacterInString, at: 4)
        assertRejects("\"\u{1F}\"", .controlCharacterInString, at: 1)
        assertRejects(#""\x41""#, .invalidEscape, at: 1)
        assertRejects(#""\u12G4""#, .invalidEscape, at: 5)
        assertRejects(#""\u12"#, .unexpectedEndOfInput)
        assertRejects(#""\"#, .unexpectedEndOfInput)
    }

    func testRejectsLoneSurrogates() {
        assertRejects(#""\ud800""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud800x""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud800\u0041""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud800\ud800""#, .loneSurrogate, at: 1)
        assertRejects(#""ab\udc00""#, .loneSurrogate, at: 3)
    }

    func testRejectsInvalidUTF8() {
        let cases: [(bytes: [UInt8], offset: Int)] = [
            ([0x22, 0xFF, 0x22], 1),                   // never valid
            ([0x22, 0x80, 0x22], 1),                   // continuation without lead
            ([0x22, 0xC0, 0xAF, 0x22], 1),             // overlong "/"
            ([0x22, 0xE0, 0x80, 0xAF, 0x22], 2),       // overlong 3-byte
            ([0x22, 0xED, 0xA0, 0x80, 0x22], 2),       // UTF-8 encoded surrogate
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 2), // above U+10FFFF
            ([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], 1), // invalid lead
            ([0x22, 0xC3, 0x22], 2),                   // truncated by the closing quote
            ([0x22, 0xE2, 0x82], 1),                   // truncated by end of input
            ([0x22, 0x61, 0xC3, 0x28, 0x22], 3),       // bad continuation after ASCII
        ]
        for (bytes, offset) in cases {
            let error = parseError(bytes)
            XCTAssertEqual(error?.kind, .invalidUTF8, "\(bytes): \(String(describing: error))")
            XCTAssertEqual(error?.offset, offset, "\(bytes): \(String(describing: error))")
        }
        XCTAssertEqual(parseError([0xC3, 0xA9])?.kind, .unexpectedCharacter, "non-ASCII outside strings")
        XCTAssertEqual(try JSONParser().parse([0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22]), .string("😀"))
    }

    // MARK: Depth

    func testDepthLimit() throws {
        let atLimit = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        XCTAssertNoThrow(try parse(atLimit))
        assertRejects(String(repeating: "[", count: 129) + String(repeating: "]", count: 129), .nestingTooDeep, at: 128)
        assertRejects(String(repeating: "{\"a\":", count: 129) + "1" + String(repeating: "}", count: 129), .nestingTooDeep)
        XCTAssertEqual(parseError(Array("[[[1]]]".utf8), parser: JSONParser(maxDepth: 2))?.kind, .nestingTooDeep)
    }

    func testHundredThousandOpenBracketsFailCleanly() {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        XCTAssertEqual(parseError(bytes)?.kind, .nestingTooDeep)
        // Even with the limit lifted the parser is iterative: it runs out of input, not stack.
        XCTAssertEqual(parseError(bytes, parser: JSONParser(maxDepth: .max))?.kind, .unexpectedEndOfInput)
        let objects = Array(String(repeating: "{\"k\":", count: 100_000).utf8)
        XCTAssertEqual(parseError(objects)?.kind, .nestingTooDeep)
    }
}
