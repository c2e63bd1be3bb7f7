/// A usage mistake, reported on stderr with exit code 2.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Walks the command-line arguments, handing out options and their values with clear errors.
/// Accepts `--name value` and `--name=value`.
struct ArgumentCursor {
    private var remaining: ArraySlice<String>
    private var pendingValue: String?

    init(_ arguments: [String]) {
        remaining = arguments[...]
    }

    var isAtEnd: Bool { remaining.isEmpty }

    /// The next argument, whatever it is.
    mutating func next() -> String? {
        guard let first = remaining.first else { return nil }
        remaining = remaining.dropFirst()
        if first.hasPrefix("--"), let equals = first.firstIndex(of: "=") {
            pendingValue = String(first[first.index(after: equals)...])
            return String(first[..<equals])
        }
        pendingValue = nil
        return first
    }

    /// The value of the option just read.
    mutating func value(for option: String) throws -> String {
        if let pendingValue {
            self.pendingValue = nil
            return pendingValue
        }
        guard let value = remaining.first, !value.hasPrefix("--") else {
            throw UsageError("\(option) needs a value")
        }
        remaining = remaining.dropFirst()
        return value
    }

    mutating func integer(for option: String, in range: ClosedRange<Int>) throws -> Int {
        let text = try value(for: option)
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("\(option) must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return number
    }

    /// Refuses a stray `--x=value` on a flag that takes no value.
    mutating func flag(_ option: String) throws {
        if pendingValue != nil { throw UsageError("\(option) takes no value") }
    }
}
