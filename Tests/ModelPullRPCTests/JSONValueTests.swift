import Foundation
import XCTest
@testable import ModelPullRPC

final class JSONValueTests: XCTestCase {
    func testAccessors() {
        let value: JSONValue = ["s": "text", "i": 5, "d": 2.5, "b": true, "a": [1], "o": ["k": .null], "n": .null]
        XCTAssertEqual(value["s"]?.stringValue, "text")
        XCTAssertEqual(value["i"]?.int64Value, 5)
        XCTAssertEqual(value["i"]?.doubleValue, 5)
        XCTAssertEqual(value["d"]?.doubleValue, 2.5)
        XCTAssertNil(value["d"]?.int64Value)
        XCTAssertEqual(value["b"]?.boolValue, true)
        XCTAssertEqual(value["a"]?.arrayValue, [1])
        XCTAssertEqual(value["o"]?.objectValue, ["k": .null])
        XCTAssertEqual(value["n"]?.isNull, true)
        XCTAssertNil(value["missing"])
        XCTAssertNil(value["s"]?["nested"], "subscripting a non-object is nil, not a trap")
        XCTAssertNil(value["a"]?[1], "out of range is nil, not a trap")
        XCTAssertNil(value["a"]?[-1])
        XCTAssertNil(value["s"]?.int64Value)
    }

    func testTypeNames() {
        let names = ([.null, true, 1, 1.5, "s", [], [:]] as [JSONValue]).map(\.typeName)
        XCTAssertEqual(names, ["null", "boolean", "integer", "number", "string", "array", "object"])
    }

    func testIntegerAndDoubleAreDistinctValues() {
        XCTAssertNotEqual(JSONValue.integer(1), .double(1.0))
        XCTAssertEqual(JSONNumber.double(1e3).exactInt64, 1000)
        XCTAssertNil(JSONNumber.double(1e300).exactInt64)
        XCTAssertTrue(JSONNumber.double(1e300).isIntegral)
        XCTAssertFalse(JSONNumber.double(.nan).isIntegral)
    }

    func testObjectOrderReplacementAndRemoval() {
        var object: JSONObject = ["c": 1, "a": 2, "b": 3]
        XCTAssertEqual(object.keys, ["c", "a", "b"])
        object["a"] = "replaced"
        XCTAssertEqual(object.keys, ["c", "a", "b"], "replacing keeps the position")
        object["d"] = 4
        XCTAssertEqual(object.removeValue(forKey: "c"), 1)
        object["b"] = nil
        XCTAssertEqual(object.keys, ["a", "d"])
        XCTAssertEqual(object["d"], 4)
        XCTAssertEqual(object.values, ["replaced", 4])
        XCTAssertTrue(object.contains(key: "a"))
        XCTAssertFalse(object.contains(key: "c"))
        XCTAssertEqual(Array(object).map(\.key), ["a", "d"])
        XCTAssertEqual(object.sortedByKey().keys, ["a", "d"])
    }

    func testObjectEqualityAndHashIgnoreOrder() {
        let first: JSONObject = ["a": 1, "b": [true]]
        let second: JSONObject = ["b": [true], "a": 1]
        XCTAssertEqual(first, second)
        XCTAssertEqual(first.hashValue, second.hashValue)
        XCTAssertNotEqual(first, ["a": 1])
        XCTAssertNotEqual(first, ["a": 2, "b": [true]])
        XCTAssertEqual(Set([JSONValue.object(first), .object(second)]).count, 1)
    }
}
