/// A JSON number that remembers how it was written, so integers survive a round trip exactly.
///
/// JSON-RPC needs two things a plain `Double` cannot give: request ids such as
/// `9007199254740993` must be echoed digit for digit, and an id written `1.5` must be told apart
/// from `1`. The parser therefore keeps integer literals that fit in 64 bits as `.integer`, and
/// everything else (a fraction, an exponent, or an integer too large for `Int64`) as `.double`.
///
/// `Hashable` is structural: `.integer(1)` and `.double(1.0)` are different values, because
/// they were written differently and are written back differently (`1` versus `1.0`).
public enum JSONNumber: Sendable, Hashable {
    /// An integer literal (no `.`, no exponent) within `Int64`. Written back verbatim.
    case integer(Int64)
    /// Any other number. Always finite when it comes from the parser.
    case double(Double)

    /// The numeric value as a `Double` (an `Int64` beyond 2^53 is rounded).
    public var doubleValue: Double {
        switch self {
        case .integer(let value): return Double(value)
        case .double(let value): return value
        }
    }

    /// The value as an `Int64` when that conversion is exact: any `.integer`, or a `.double`
    /// without a fractional part inside `Int64`'s range (`1.0`, `1e3`). `1.5` gives `nil`.
    /// Code that must insist on an integer *literal* (request ids) should match `.integer`.
    public var exactInt64: Int64? {
        switch self {
        case .integer(let value): return value
        case .double(let value): return Int64(exactly: value)
        }
    }

    /// True for `.integer` and for doubles with no fractional part (`1.0`, `1e3`, `1e300`).
    public var isIntegral: Bool {
        switch self {
        case .integer: return true
        case .double(let value): return value.isFinite && value.rounded(.towardZero) == value
        }
    }
}

extension JSONNumber: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
}

/// A JSON document: the six RFC 8259 kinds, with exact integers and ordered objects.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// `.number(.integer(value))`, spelled short.
    public static func integer(_ value: Int64) -> JSONValue { .number(.integer(value)) }

    /// `.number(.double(value))`, spelled short. Non-finite values are written as `null`.
    public static func double(_ value: Double) -> JSONValue { .number(.double(value)) }

    /// The kind's name for error messages such as "expected string, got integer".
    /// Integer literals report "integer"; every other number reports "number".
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(.integer): return "integer"
        case .number(.double): return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

// MARK: - Accessors

extension JSONValue {
    /// The member named `key` when this is an object that has it; `nil` otherwise.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    /// The element at `index` when this is an array long enough; `nil` otherwise (never traps).
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var numberValue: JSONNumber? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// Exact conversions only, see `JSONNumber.exactInt64`: `1`, `1.0` and `1e3` convert,
    /// `1.5` and `9223372036854775808` do not.
    public var int64Value: Int64? { numberValue?.exactInt64 }

    /// Any number as a `Double`.
    public var doubleValue: Double? { numberValue?.doubleValue }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }
}

// MARK: - Literals
//
// There is deliberately no `ExpressibleByNilLiteral`: with `JSONValue?` everywhere (subscripts,
// accessors) a bare `nil` would silently mean two different things. Write `.null`.

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .number(.integer(value)) }
    public init(floatLiteral value: Double) { self = .number(.double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements))
    }
}

// MARK: - JSONObject

/// A JSON object that keeps its members in insertion order (so output is deterministic and
/// reads like the input) and still answers lookups by key in O(1).
///
/// Setting an existing key replaces its value in place, keeping the original position; this is
/// also how duplicate keys in parsed input resolve: the last value wins, at the first position.
/// Equality follows JSON semantics and ignores member order.
public struct JSONObject: Sendable, Hashable {
    private var orderedKeys: [String] = []
    private var orderedValues: [JSONValue] = []
    private var positions: [String: Int] = [:]

    public init() {}

    /// Members in order; a repeated key keeps its first position and its last value.
    public init<S: Sequence>(_ members: S) where S.Element == (String, JSONValue) {
        for (key, value) in members { self[key] = value }
    }

    public var count: Int { orderedKeys.count }
    public var isEmpty: Bool { orderedKeys.isEmpty }
    /// Keys in insertion order.
    public var keys: [String] { orderedKeys }
    /// Values in insertion order.
    public var values: [JSONValue] { orderedValues }

    public func contains(key: String) -> Bool { positions[key] != nil }

    /// Reads a member, or sets one (`nil` removes it). A new key goes at the end.
    public subscript(key: String) -> JSONValue? {
        get { positions[key].map { orderedValues[$0] } }
        set {
            guard let newValue else {
                removeValue(forKey: key)
                return
            }
            if let position = positions[key] {
                orderedValues[position] = newValue
            } else {
                positions[key] = orderedKeys.count
                orderedKeys.append(key)
                orderedValues.append(newValue)
            }
        }
    }

    /// Removes a member, keeping the others in order. O(n): objects here are small.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let position = positions.removeValue(forKey: key) else { return nil }
        orderedKeys.remove(at: position)
        let removed = orderedValues.remove(at: position)
        for index in position..<orderedKeys.count { positions[orderedKeys[index]] = index }
        return removed
    }

    /// A copy whose members are ordered by the UTF-8 bytes of their keys (golden files, diffs).
    public func sortedByKey() -> JSONObject {
        let order = orderedKeys.indices.sorted {
            orderedKeys[$0].utf8.lexicographicallyPrecedes(orderedKeys[$1].utf8)
        }
        return JSONObject(order.lazy.map { (self.orderedKeys[$0], self.orderedValues[$0]) })
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs where rhs[key] != value { return false }
        return true
    }

    /// Order-independent, to agree with `==`: each member hashes alone, the results are summed.
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for (key, value) in self {
            var memberHasher = Hasher()
            memberHasher.combine(key)
            memberHasher.combine(value)
            combined = combined &+ memberHasher.finalize()
        }
        hasher.combine(count)
        hasher.combine(combined)
    }
}

extension JSONObject: Sequence {
    public typealias Element = (key: String, value: JSONValue)

    public struct Iterator: IteratorProtocol {
        fileprivate let object: JSONObject
        fileprivate var position = 0

        public mutating func next() -> Element? {
            guard position < object.orderedKeys.count else { return nil }
            defer { position += 1 }
            return (object.orderedKeys[position], object.orderedValues[position])
        }
    }

    public func makeIterator() -> Iterator { Iterator(object: self) }
    public var underestimatedCount: Int { count }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }
}
