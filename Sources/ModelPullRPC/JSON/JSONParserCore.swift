/// Byte constants of the JSON grammar.
enum JSONASCII {
    static let quote: UInt8 = 0x22, backslash: UInt8 = 0x5C, slash: UInt8 = 0x2F
    static let comma: UInt8 = 0x2C, colon: UInt8 = 0x3A, minus: UInt8 = 0x2D, plus: UInt8 = 0x2B
    static let dot: UInt8 = 0x2E, zero: UInt8 = 0x30, nine: UInt8 = 0x39
    static let openBracket: UInt8 = 0x5B, closeBracket: UInt8 = 0x5D
    static let openBrace: UInt8 = 0x7B, closeBrace: UInt8 = 0x7D
    static let lowerE: UInt8 = 0x65, upperE: UInt8 = 0x45

    static func isDigit(_ byte: UInt8) -> Bool { byte >= zero && byte <= nine }
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}

/// One open array or object while parsing; the stack of these replaces recursion.
private struct OpenContainer {
    let isObject: Bool
    var elements: [JSONValue] = []
    var members = JSONObject()
    var pendingKey = ""
}

/// The parsing machinery behind `JSONParser`: structure and numbers here, strings in
/// JSONParserStrings.swift. Works on a borrowed buffer; never traps on malformed input.
struct JSONParserCore {
    let input: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    let allowsInexactIntegers: Bool
    var index = 0
    /// Reused buffer for strings that need unescaping.
    var scratch: [UInt8] = []

    init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int, allowsInexactIntegers: Bool) {
        self.input = input
        self.maxDepth = maxDepth
        self.allowsInexactIntegers = allowsInexactIntegers
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        let value = try parseValueTree()
        skipWhitespace()
        if index < input.count {
            throw failure(.trailingData, "unexpected \(describeByte(input[index])) after the JSON value")
        }
        return value
    }

    // MARK: Structure

    mutating func parseValueTree() throws(JSONParseError) -> JSONValue {
        var stack: [OpenContainer] = []
        while true {
            // Read one value; an opening bracket with content pushes a container instead.
            skipWhitespace()
            guard index < input.count else { throw endOfInput("expected a value") }
            var value: JSONValue
            switch input[index] {
            case JSONASCII.openBrace, JSONASCII.openBracket:
                let isObject = input[index] == JSONASCII.openBrace
                guard stack.count < maxDepth else {
                    throw failure(.nestingTooDeep, "nesting deeper than \(maxDepth) levels")
                }
                index += 1
                skipWhitespace()
                let closer = isObject ? JSONASCII.closeBrace : JSONASCII.closeBracket
                if index < input.count && input[index] == closer {
                    index += 1
                    value = isObject ? .object(JSONObject()) : .array([])
                } else {
                    var container = OpenContainer(isObject: isObject)
                    if isObject { container.pendingKey = try parseMemberKey() }
                    stack.append(container)
                    continue
                }
            default:
                value = try parseScalar()
            }

            // Attach the value to its parent, closing every container the input closes here.
            while let top = stack.indices.last {
                if stack[top].isObject {
                    let key = stack[top].pendingKey
                    stack[top].members[key] = value
                } else {
                    stack[top].elements.append(value)
                }
                skipWhitespace()
                guard index < input.count else { throw endOfInput("unterminated container") }
                let byte = input[index]
                let closer = stack[top].isObject ? JSONASCII.closeBrace : JSONASCII.closeBracket
                if byte == JSONASCII.comma {
                    index += 1
                    if stack[top].isObject { stack[top].pendingKey = try parseMemberKey() }
                    break
                } else if byte == closer {
                    index += 1
                    let finished = stack.removeLast()
                    value = finished.isObject ? .object(finished.members) : .array(finished.elements)
                } else {
                    let expected = stack[top].isObject ? "',' or '}'" : "',' or ']'"
                    throw failure(.unexpectedCharacter, "unexpected \(describeByte(byte)), expected \(expected)")
                }
            }
            if stack.isEmpty { return value }
        }
    }

    /// `"key"` then `:`; leaves `index` at the member's value.
    mutating func parseMemberKey() throws(JSONParseError) -> String {
        skipWhitespace()
        guard index < input.count else { throw endOfInput("expected an object key") }
        guard input[index] == JSONASCII.quote else {
            throw failure(.unexpectedCharacter, "unexpected \(describeByte(input[index])), expected a string key")
        }
        let key = try parseString()
        skipWhitespace()
        guard index < input.count else { throw endOfInput("expected ':'") }
        guard input[index] == JSONASCII.colon else {
            throw failure(.unexpectedCharacter, "unexpected \(describeByte(input[index])), expected ':'")
        }
        index += 1
        return key
    }

    mutating func parseScalar() throws(JSONParseError) -> JSONValue {
        switch input[index] {
        case JSONASCII.quote: return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case JSONASCII.minus, JSONASCII.zero...JSONASCII.nine: return .number(try parseNumber())
        default:
            throw failure(.unexpectedCharacter, "unexpected \(describeByte(input[index]))")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for byte in expected {
            guard index < input.count else { throw endOfInput("truncated literal '\(literal)'") }
            guard input[index] == byte else {
                throw failure(.unexpectedCharacter, "unexpected \(describeByte(input[index])) in literal '\(literal)'")
            }
            index += 1
        }
    }

    // MARK: Numbers

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = index
        var cursor = index
        if input[cursor] == JSONASCII.minus { cursor += 1 }
        try requireDigit(at: cursor, after: "'-'")
        if input[cursor] == JSONASCII.zero {
            cursor += 1
            if cursor < input.count && JSONASCII.isDigit(input[cursor]) {
                throw JSONParseError(kind: .leadingZero, reason: "leading zero in number", offset: start)
            }
        } else {
            cursor = skipDigits(from: cursor)
        }
        var isIntegerLiteral = true
        if cursor < input.count && input[cursor] == JSONASCII.dot {
            isIntegerLiteral = false
            cursor += 1
            try requireDigit(at: cursor, after: "'.'")
            cursor = skipDigits(from: cursor)
        }
        if cursor < input.count && (input[cursor] == JSONASCII.lowerE || input[cursor] == JSONASCII.upperE) {
            isIntegerLiteral = false
            cursor += 1
            if cursor < input.count && (input[cursor] == JSONASCII.plus || input[cursor] == JSONASCII.minus) {
                cursor += 1
            }
            try requireDigit(at: cursor, after: "exponent")
            cursor = skipDigits(from: cursor)
        }
        index = cursor
        let literal = UnsafeBufferPointer(rebasing: input[start..<cursor])
        if isIntegerLiteral {
            if let exact = Self.int64(fromDigits: literal) { return .integer(exact) }
            guard allowsInexactIntegers else {
                throw JSONParseError(kind: .numberOutOfRange, reason: "integer does not fit in 64 bits", offset: start)
            }
        }
        // The grammar was checked above, so Double's own parser sees only valid JSON numbers.
        guard let value = Double(String(decoding: literal, as: UTF8.self)), value.isFinite else {
            throw JSONParseError(kind: .numberOutOfRange, reason: "number out of range", offset: start)
        }
        return .double(value)
    }

    func requireDigit(at position: Int, after what: String) throws(JSONParseError) {
        guard position < input.count else { throw JSONParseError(kind: .unexpectedEndOfInput, reason: "unexpected end of input in number", offset: position) }
        guard JSONASCII.isDigit(input[position]) else {
            throw JSONParseError(kind: .invalidNumber, reason: "expected a digit after \(what), found \(describeByte(input[position]))", offset: position)
        }
    }

    func skipDigits(from position: Int) -> Int {
        var cursor = position
        while cursor < input.count && JSONASCII.isDigit(input[cursor]) { cursor += 1 }
        return cursor
    }

    /// Exact value of `-?[0-9]+`, or nil on overflow. Accumulates negatively so Int64.min fits.
    static func int64(fromDigits literal: UnsafeBufferPointer<UInt8>) -> Int64? {
        let isNegative = literal.first == JSONASCII.minus
        var accumulator: Int64 = 0
        for byte in literal.dropFirst(isNegative ? 1 : 0) {
            let (shifted, overflowA) = accumulator.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = shifted.subtractingReportingOverflow(Int64(byte - JSONASCII.zero))
            if overflowA || overflowB { return nil }
            accumulator = next
        }
        if isNegative { return accumulator }
        return accumulator == .min ? nil : -accumulator
    }

    // MARK: Helpers

    mutating func skipWhitespace() {
        while index < input.count && JSONASCII.isWhitespace(input[index]) { index += 1 }
    }

    func failure(_ kind: JSONParseError.Kind, _ reason: String) -> JSONParseError {
        JSONParseError(kind: kind, reason: reason, offset: index)
    }

    func endOfInput(_ context: String) -> JSONParseError {
        JSONParseError(kind: .unexpectedEndOfInput, reason: "unexpected end of input (\(context))", offset: index)
    }

    /// "character 'x'" for printable ASCII, "byte 0xFF" otherwise: never echoes raw bytes.
    func describeByte(_ byte: UInt8) -> String {
        (0x20...0x7E).contains(byte) ? "character '\(printable(byte))'" : "byte 0x\(String(byte, radix: 16, uppercase: true).leftPadded(to: 2))"
    }

    func printable(_ byte: UInt8) -> String {
        (0x20...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x\(String(byte, radix: 16, uppercase: true).leftPadded(to: 2))"
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
