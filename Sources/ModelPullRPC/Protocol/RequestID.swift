/// A JSON-RPC request id: a string or an integer, echoed back exactly as received (`"1"` and `1`
/// are different ids).
public enum RequestID: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case integer(Int64)

    /// Reads an id, or nil when the value cannot be one (null, fractions, objects…).
    init?(_ value: JSONValue) {
        switch value {
        case .string(let text): self = .string(text)
        case .number(let number):
            guard number.isIntegral, let integer = number.exactInt64 else { return nil }
            self = .integer(integer)
        default: return nil
        }
    }

    public var json: JSONValue {
        switch self {
        case .string(let text): return .string(text)
        case .integer(let value): return .integer(value)
        }
    }

    public var description: String {
        switch self {
        case .string(let text): return text.debugDescription
        case .integer(let value): return String(value)
        }
    }
}
