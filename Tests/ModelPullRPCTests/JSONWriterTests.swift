import Foundation
import XCTest
@testable import ModelPullRPC

final class JSONWriterTests: XCTestCase {
    private func text(_ value: JSONValue, sortsKeys: Bool = false) -> String {
        JSONWriter(sortsKeys: sortsKeys).encodeString(value)
    }

    func testCompactOutputInInsertionOrder() {
        let value: JSONValue = ["jsonrpc": "2.0", "id": 3, "result": ["ok": true, "list": [1, .null, "x"]]]
        XCTAssertEqual(text(value), #"{"jsonrpc":"2.0","id":3,"result":{"ok":true,"list":[1,null,"x"]}}"#)
    }

    func testSortedKeysForGoldenFiles() {
        let value: JSONValue = ["b": 1, "a": ["z": 1, "é": 2, "Z": 3], "aa": 2]
        XCTAssertEqual(text(value, sortsKeys: true), #"{"a":{"Z":3,"z":1,"é":2},"aa":2,"b":1}"#)
    }

    func testEscaping() {
        XCTAssertEqual(text("quote\" backslash\\ slash/"), #""quote\" backslash\\ slash/""#)
        XCTAssertEqual(text("\n\r\t\u{8}\u{C}"), #""\n\r\t\b\f""#)
        XCTAssertEqual(text("\u{0}\u{1}\u{1F}\u{7F}"), "\"\\u0000\\u0001\\u001f\u{7F}\"")
        XCTAssertEqual(text(["a\nb": "c\u{2028}d"]), "{\"a\\nb\":\"c\u{2028}d\"}")
    }

    func testNeverEscapesSlash() {
        XCTAssertEqual(text("https://huggingface.co/org/model/resolve/main/x.bin"), #""https://huggingface.co/org/model/resolve/main/x.bin""#)
    }

    func testNoRawNewlinesForAnyControlCharacter() {
        let allControls = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        let bytes = JSONWriter().encode(["k": .string(allControls), allControls: [.string(allControls)]])
        XCTAssertFalse(bytes.contains { $0 < 0x20 }, "no raw control byte may reach the wire")
        XCTAssertEqual(try JSONParser().parse(bytes)["k"]?.stringValue, allControls)
    }

    func testUnicodeIsWrittenAsUTF8() {
        let bytes = JSONWriter().encode("é😀日")
        XCTAssertEqual(bytes, Array("\"é😀日\"".utf8))
    }

    func testNumbers() {
        XCTAssertEqual(text(.integer(.max)), "9223372036854775807")
        XCTAssertEqual(text(.integer(.min)), "-9223372036854775808")
        XCTAssertEqual(text(.double(1.0)), "1.0", "an integral double keeps its '.0'")
        XCTAssertEqual(text(.double(0.1)), "0.1")
        XCTAssertEqual(text(.double(-2.5)), "-2.5")
        XCTAssertEqual(text(.double(1e21)), "1e+21")
        XCTAssertEqual(text(.double(1e-7)), "1e-07")
        XCTAssertEqual(text(.double(.leastNonzeroMagnitude)), "5e-324")
        XCTAssertEqual(text(.double(.nan)), "null")
        XCTAssertEqual(text([.double(.infinity), .double(-.infinity)]), "[null,null]")
    }

    func testDoublesRoundTripExactly() throws {
        var random = FuzzSplitMix64(seed: 42)
        for _ in 0..<5_000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            let reparsed = try JSONParser().parse(JSONWriter().encode(.double(value)))
            XCTAssertEqual(reparsed.numberValue?.doubleValue.bitPattern, value.bitPattern, "\(value)")
            XCTAssertEqual(reparsed.typeName, "number", "a double reads back as a double")
        }
    }

    func testDataAndDescription() {
        let value: JSONValue = ["a": [1, 2.5]]
        XCTAssertEqual(JSONWriter().encodeData(value), Data(#"{"a":[1,2.5]}"#.utf8))
        XCTAssertEqual(value.description, #"{"a":[1,2.5]}"#)
        XCTAssertEqual("\(value.objectValue!)", #"{"a":[1,2.5]}"#)
    }
}
