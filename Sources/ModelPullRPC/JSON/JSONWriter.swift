import Foundation

/// Serializes a `JSONValue` to compact UTF-8 JSON.
///
/// Output rules, chosen so every message fits on one NDJSON line and reads back identically:
/// - Compact, never pretty; a raw newline can never appear (control characters are escaped).
/// - Strings escape `"` `\` and U+0000...U+001F (`\n`, `\t`... short forms where they exist);
///   `/` is not escaped; everything else, including non-ASCII, is written as plain UTF-8.
/// - `.integer` is written exactly. `.double` uses Swift's shortest round-trip form, which
///   always contains a `.` or an exponent: `1.0` is written `1.0`, `1e21` is `1e+21`. So a
///   double reads back as a double and an integer as an integer. Non-finite doubles (which the
///   parser never produces) are written as `null`, since JSON has no NaN or Infinity.
/// - Object members in insertion order, or ordered by UTF-8 key bytes with `sortsKeys`.
public struct JSONWriter: Sendable {
    /// Order object members by key (byte-wise) instead of insertion order: for golden tests.
    public var sortsKeys: Bool

    public init(sortsKeys: Bool = false) {
        self.sortsKeys = sortsKeys
    }

    public func encode(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(128)
        write(value, into: &output)
        return output
    }

    public func encodeData(_ value: JSONValue) -> Data {
        Data(encode(value))
    }

    public func encodeString(_ value: JSONValue) -> String {
        String(decoding: encode(value), as: UTF8.self)
    }

    /// Appends the serialization of `value`. Recursion depth equals the value's nesting depth,
    /// which the parser bounds; values built in code are trusted to be reasonably shallow.
    public func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null:
            output.append(contentsOf: Self.nullLiteral)
        case .bool(let flag):
            output.append(contentsOf: flag ? Self.trueLiteral : Self.falseLiteral)
        case .number(let number):
            Self.write(number, into: &output)
        case .string(let string):
            Self.write(string, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                write(element, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            let members = sortsKeys ? object.sortedByKey() : object
            output.append(UInt8(ascii: "{"))
            var isFirst = true
            for (key, member) in members {
                if !isFirst { output.append(UInt8(ascii: ",")) }
                isFirst = false
                Self.write(key, into: &output)
                output.append(UInt8(ascii: ":"))
                write(member, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static let nullLiteral = Array("null".utf8)
    private static let trueLiteral = Array("true".utf8)
    private static let falseLiteral = Array("false".utf8)

    private static func write(_ number: JSONNumber, into output: inout [UInt8]) {
        switch number {
        case .integer(let value):
            output.append(contentsOf: String(value).utf8)
        case .double(let value):
            guard value.isFinite else {
                output.append(contentsOf: nullLiteral)
                return
            }
            // Swift's description is the shortest digits that round-trip, and is never
            // "nan"/"inf" here; its exponent form ("1e-07", "1e+16") is valid JSON.
            output.append(contentsOf: value.description.utf8)
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func write(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            // Copy runs of bytes that need no escaping in one go.
            var runStart = 0
            for (position, byte) in bytes.enumerated() {
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                runStart = position + 1
                output.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
                case 0x08: output.append(UInt8(ascii: "b"))
                case 0x0C: output.append(UInt8(ascii: "f"))
                case 0x0A: output.append(UInt8(ascii: "n"))
                case 0x0D: output.append(UInt8(ascii: "r"))
                case 0x09: output.append(UInt8(ascii: "t"))
                default:
                    output.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30,
                                               hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        output.append(UInt8(ascii: "\""))
    }
}

extension JSONValue: CustomStringConvertible {
    /// Compact JSON text, for logs and test failure messages.
    public var description: String { JSONWriter().encodeString(self) }
}

extension JSONObject: CustomStringConvertible {
    public var description: String { JSONWriter().encodeString(.object(self)) }
}
