import Foundation

/// Moves values between `Codable` types and `JSONValue` through JSON text, so method handlers
/// can declare their params and results as plain `Codable` structs.
///
/// Exactness: every `Int`/`Int64` (and smaller integer types) crosses exactly, because both
/// `JSONEncoder` and this module's parser/writer keep integer literals as integers; doubles
/// cross with shortest round-trip digits. The one value that cannot be represented exactly, an
/// unsigned integer above `Int64.max`, makes `encode` throw instead of silently rounding.
/// Non-finite doubles make `JSONEncoder` throw (its default strategy), as JSON has no NaN.
public enum JSONCodingBridge {
    /// An encoder with the settings this module relies on: sorted keys (deterministic output on
    /// every platform, since `JSONEncoder` does not promise member order) and unescaped slashes.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// `value` as a `JSONValue`. Throws `EncodingError` or `JSONParseError` (integer beyond Int64).
    public static func encode<T: Encodable>(_ value: T, encoder: JSONEncoder? = nil) throws -> JSONValue {
        let data = try (encoder ?? makeEncoder()).encode(value)
        // Depth is bounded by the Swift value itself, not by untrusted input.
        return try JSONParser(maxDepth: .max, allowsInexactIntegers: false).parse(data)
    }

    /// Decodes `type` from `value`. Throws `DecodingError` with the usual coding path.
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, decoder: JSONDecoder? = nil) throws -> T {
        try (decoder ?? JSONDecoder()).decode(type, from: JSONWriter().encodeData(value))
    }
}

extension JSONValue {
    /// `JSONCodingBridge.encode(value)`.
    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONCodingBridge.encode(value)
    }

    /// `JSONCodingBridge.decode(T.self, from: self)`.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONCodingBridge.decode(type, from: self)
    }
}

/// Lets `JSONValue` be a field of `Codable` structs (free-form `params`, `metadata`, `id`).
///
/// Through `JSONDecoder` the literal text is not visible, so numbers are classified by value:
/// anything that decodes exactly as `Int64` becomes `.integer` (so `1.0` arrives as `.integer(1)`
/// while `1.5` stays `.double`). Code that must tell `1` from `1.0` (request-id validation)
/// should read the `JSONValue` straight from `JSONParser`, not through `Decodable`.
extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            if let count = array.count { elements.reserveCapacity(count) }
            while !array.isAtEnd { elements.append(try array.decode(JSONValue.self)) }
            self = .array(elements)
            return
        }
        if let keyed = try? decoder.container(keyedBy: JSONMemberKey.self) {
            // `allKeys` order is unspecified, so the decoded object is ordered by key bytes.
            let keys = keyed.allKeys.sorted { $0.stringValue.utf8.lexicographicallyPrecedes($1.stringValue.utf8) }
            var object = JSONObject()
            for key in keys { object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(object)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let flag = try? single.decode(Bool.self) {
            self = .bool(flag)
        } else if let integer = try? single.decode(Int64.self) {
            self = .number(.integer(integer))
        } else if let double = try? single.decode(Double.self) {
            self = .number(.double(double))
        } else if let string = try? single.decode(String.self) {
            self = .string(string)
        } else {
            throw DecodingError.dataCorruptedError(in: single, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let flag):
            var single = encoder.singleValueContainer()
            try single.encode(flag)
        case .number(.integer(let integer)):
            var single = encoder.singleValueContainer()
            try single.encode(integer)
        case .number(.double(let double)):
            var single = encoder.singleValueContainer()
            try single.encode(double)
        case .string(let string):
            var single = encoder.singleValueContainer()
            try single.encode(string)
        case .array(let elements):
            var unkeyed = encoder.unkeyedContainer()
            for element in elements { try unkeyed.encode(element) }
        case .object(let object):
            var keyed = encoder.container(keyedBy: JSONMemberKey.self)
            for (key, member) in object { try keyed.encode(member, forKey: JSONMemberKey(stringValue: key)) }
        }
    }
}

/// A coding key for arbitrary member names.
fileprivate struct JSONMemberKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}
