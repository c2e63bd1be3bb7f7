import Foundation

/// Why a document was rejected, and where: `reason` plus the 0-based byte `offset`.
/// `description` reads "unexpected character 'x' at byte 17".
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case unexpectedEndOfInput
        case unexpectedCharacter
        case invalidUTF8
        case invalidEscape
        case loneSurrogate
        case controlCharacterInString
        case leadingZero
        case invalidNumber
        case numberOutOfRange
        case trailingData
        case nestingTooDeep
    }

    public let kind: Kind
    /// Human-readable cause without the position, e.g. "unexpected character 'x'".
    public let reason: String
    /// 0-based byte offset into the input where the problem was found.
    public let offset: Int

    public init(kind: Kind, reason: String, offset: Int) {
        self.kind = kind
        self.reason = reason
        self.offset = offset
    }

    /// "unexpected character 'x' at byte 17"
    public var message: String { "\(reason) at byte \(offset)" }
    public var description: String { message }
}

/// A strict RFC 8259 parser over bytes.
///
/// Rejects: invalid UTF-8 anywhere, lone surrogate escapes, raw control characters in strings,
/// leading zeros, `NaN`/`Infinity` and other non-JSON tokens, numbers that overflow `Double`,
/// trailing data after the value, a byte order mark, and nesting deeper than `maxDepth`.
/// Integer literals within `Int64` become `.integer`; larger ones become `.double` (or an error
/// when `allowsInexactIntegers` is false). Duplicate keys: the last value wins.
///
/// The parser is iterative (an explicit container stack), so no input can exhaust the call
/// stack whatever `maxDepth` is set to, and it never traps on malformed input.
public struct JSONParser: Sendable {
    public static let defaultMaxDepth = 128

    /// Maximum number of nested arrays/objects; one more is a `.nestingTooDeep` error. Keep it
    /// modest for untrusted input: parsing is iterative, but writing, comparing and releasing a
    /// value recurse once per level.
    public var maxDepth: Int
    /// When false, an integer literal outside `Int64` is an error instead of a rounded double.
    public var allowsInexactIntegers: Bool

    public init(maxDepth: Int = JSONParser.defaultMaxDepth, allowsInexactIntegers: Bool = true) {
        self.maxDepth = maxDepth
        self.allowsInexactIntegers = allowsInexactIntegers
    }

    public func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { parseResult($0) }.get()
    }

    public func parse(_ bytes: ArraySlice<UInt8>) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { parseResult($0) }.get()
    }

    public func parse(_ data: Data) throws(JSONParseError) -> JSONValue {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in parseResult(raw.assumingBytes()) }.get()
    }

    public func parse(_ buffer: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        try parseResult(buffer.assumingBytes()).get()
    }

    public func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { parseResult($0) }.get()
    }

    private func parseResult(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONParseError> {
        var core = JSONParserCore(input: bytes, maxDepth: maxDepth, allowsInexactIntegers: allowsInexactIntegers)
        do throws(JSONParseError) {
            return .success(try core.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}

private extension UnsafeRawBufferPointer {
    /// The same memory viewed as bytes. Any memory may be read as UInt8, so this is sound.
    func assumingBytes() -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: baseAddress?.assumingMemoryBound(to: UInt8.self), count: count)
    }
}
