/// Reads a method's by-name params with -32602 errors that say which field is wrong and what was
/// expected. Unknown fields are refused, so a misspelt `revison` is an error and not a silently
/// ignored wish.
struct ParamsReader {
    private let object: JSONObject
    private var known: Set<String> = []

    /// Absent params read as an empty object; positional (array) params are refused.
    init(_ params: JSONValue?) throws(RPCError) {
        switch params {
        case nil, .null?: object = JSONObject()
        case .object(let value)?: object = value
        case let other?:
            throw RPCError.invalidParams(field: "params", expected: "an object (by-name params)", received: other.typeName)
        }
    }

    fileprivate mutating func value(_ name: String) -> JSONValue? {
        known.insert(name)
        guard let value = object[name], !value.isNull else { return nil }
        return value
    }

    /// No field of any method needs more: bounding them keeps a hostile 1 MB "model" out of
    /// every message, log line and reply that would otherwise quote it.
    static let maximumStringLength = 8192

    mutating func string(_ name: String, allowEmpty: Bool = false) throws(RPCError) -> String? {
        guard let raw = value(name) else { return nil }
        guard let text = raw.stringValue else {
            throw .invalidParams(field: "params.\(name)", expected: "a string", received: raw.typeName)
        }
        if !allowEmpty && text.isEmpty {
            throw .invalidParams(field: "params.\(name)", expected: "a non-empty string", received: "\"\"")
        }
        guard text.utf8.count <= Self.maximumStringLength else {
            throw .invalidParams(field: "params.\(name)", expected: "at most \(Self.maximumStringLength) bytes",
                                 received: "\(text.utf8.count) bytes")
        }
        return text
    }

    mutating func requiredString(_ name: String) throws(RPCError) -> String {
        guard let text = try string(name) else {
            throw .invalidParams(field: "params.\(name)", expected: "a non-empty string", received: "nothing",
                                 reason: "missing")
        }
        return text
    }

    mutating func bool(_ name: String) throws(RPCError) -> Bool? {
        guard let raw = value(name) else { return nil }
        guard let flag = raw.boolValue else {
            throw .invalidParams(field: "params.\(name)", expected: "a boolean", received: raw.typeName)
        }
        return flag
    }

    mutating func integer(_ name: String, in range: ClosedRange<Int64>) throws(RPCError) -> Int64? {
        guard let raw = value(name) else { return nil }
        guard let number = raw.numberValue, number.isIntegral, let integer = number.exactInt64, range.contains(integer) else {
            throw .invalidParams(field: "params.\(name)", expected: "an integer from \(range.lowerBound) to \(range.upperBound)",
                                 received: raw.typeName)
        }
        return integer
    }

    mutating func positiveNumber(_ name: String) throws(RPCError) -> Double? {
        guard let raw = value(name) else { return nil }
        guard let number = raw.doubleValue, number.isFinite, number > 0 else {
            throw .invalidParams(field: "params.\(name)", expected: "a positive number", received: raw.typeName)
        }
        return number
    }

    mutating func strings(_ name: String) throws(RPCError) -> [String]? {
        guard let raw = value(name) else { return nil }
        guard let elements = raw.arrayValue else {
            throw .invalidParams(field: "params.\(name)", expected: "an array of strings", received: raw.typeName)
        }
        var result: [String] = []
        for (index, element) in elements.enumerated() {
            guard let text = element.stringValue else {
                throw .invalidParams(field: "params.\(name)[\(index)]", expected: "a string", received: element.typeName)
            }
            result.append(text)
        }
        return result
    }

    mutating func requestID(_ name: String) throws(RPCError) -> RequestID {
        guard let raw = value(name), let id = RequestID(raw) else {
            throw .invalidParams(field: "params.\(name)", expected: "a request id (string or integer)",
                                 received: object[name]?.typeName ?? "nothing")
        }
        return id
    }

    /// Call after reading every field the method knows.
    /// `_meta` is the envelope MCP and LSP clients attach to any params (progress tokens, the
    /// protocol version): accepted on every method, read only where it means something.
    func rejectUnknownFields() throws(RPCError) {
        if let unknown = object.keys.first(where: { !known.contains($0) && $0 != "_meta" }) {
            let list = known.sorted().joined(separator: ", ")
            throw .invalidParams(field: "params.\(unknown)", expected: "one of the known fields (\(list))",
                                 received: "unknown field", reason: "unknown_field")
        }
    }
}

extension ParamsReader {
    mutating func object(_ name: String) throws(RPCError) -> JSONValue? {
        guard let raw = value(name) else { return nil }
        guard raw.objectValue != nil else {
            throw .invalidParams(field: "params.\(name)", expected: "an object", received: raw.typeName)
        }
        return raw
    }
}
