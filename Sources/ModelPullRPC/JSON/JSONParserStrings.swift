/// String parsing for `JSONParserCore`: escapes, surrogate pairs and strict UTF-8 validation.
extension JSONParserCore {
    // MARK: Strings

    /// Parses a string starting at its opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        let openingQuote = index
        index += 1
        // Fast path: printable ASCII without escapes needs no copy into scratch.
        let start = index
        while index < input.count {
            let byte = input[index]
            if byte == JSONASCII.quote {
                index += 1
                return String(decoding: UnsafeBufferPointer(rebasing: input[start..<(index - 1)]), as: UTF8.self)
            }
            if byte == JSONASCII.backslash || byte < 0x20 || byte >= 0x80 { break }
            index += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<index]))
        while index < input.count {
            let byte = input[index]
            switch byte {
            case JSONASCII.quote:
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            case JSONASCII.backslash:
                try parseEscape()
            case 0..<0x20:
                throw failure(.controlCharacterInString, "unescaped control character \(describeByte(byte)) in string")
            case 0x80...:
                try copyUTF8Sequence()
            default:
                scratch.append(byte)
                index += 1
            }
        }
        throw JSONParseError(kind: .unexpectedEndOfInput, reason: "unterminated string starting", offset: openingQuote)
    }

    mutating func parseEscape() throws(JSONParseError) {
        let escapeStart = index
        index += 1
        guard index < input.count else { throw endOfInput("truncated escape sequence") }
        let code = input[index]
        index += 1
        switch code {
        case JSONASCII.quote, JSONASCII.backslash, JSONASCII.slash: scratch.append(code)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try parseHex4()
            let scalarValue: UInt32
            switch unit {
            case 0xD800...0xDBFF:
                // A high surrogate is only valid immediately followed by an escaped low one.
                guard index + 1 < input.count, input[index] == JSONASCII.backslash, input[index + 1] == UInt8(ascii: "u") else {
                    throw JSONParseError(kind: .loneSurrogate, reason: "high surrogate without a following low surrogate", offset: escapeStart)
                }
                index += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONParseError(kind: .loneSurrogate, reason: "high surrogate without a following low surrogate", offset: escapeStart)
                }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            case 0xDC00...0xDFFF:
                throw JSONParseError(kind: .loneSurrogate, reason: "low surrogate without a preceding high surrogate", offset: escapeStart)
            default:
                scalarValue = UInt32(unit)
            }
            // Surrogates were excluded above, so this scalar always exists.
            if let scalar = Unicode.Scalar(scalarValue) {
                scratch.append(contentsOf: UTF8.encode(scalar)!)
            }
        default:
            throw JSONParseError(kind: .invalidEscape, reason: "invalid escape sequence '\\\(printable(code))'", offset: escapeStart)
        }
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard index < input.count else { throw endOfInput("truncated \\u escape") }
            let byte = input[index]
            let digit: UInt8
            switch byte {
            case JSONASCII.zero...JSONASCII.nine: digit = byte - JSONASCII.zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw failure(.invalidEscape, "invalid hex digit \(describeByte(byte)) in \\u escape")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates,
    /// nothing above U+10FFFF) and copies it to scratch.
    mutating func copyUTF8Sequence() throws(JSONParseError) {
        let lead = input[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw failure(.invalidUTF8, "invalid UTF-8 lead byte \(describeByte(lead))")
        }
        guard index + length <= input.count else {
            throw failure(.invalidUTF8, "truncated UTF-8 sequence")
        }
        for offset in 1..<length {
            let byte = input[index + offset]
            let valid = offset == 1 ? secondRange.contains(byte) : (0x80...0xBF).contains(byte)
            guard valid else {
                throw JSONParseError(kind: .invalidUTF8, reason: "invalid UTF-8 continuation byte \(describeByte(byte))", offset: index + offset)
            }
        }
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[index..<(index + length)]))
        index += length
    }
}
