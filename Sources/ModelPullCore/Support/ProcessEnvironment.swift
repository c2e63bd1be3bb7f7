import Foundation

/// The environment variables the engine reads, captured once so tests and embedders can pass
/// their own instead of the process's.
public struct ProcessEnvironment: Sendable {
    public var variables: [String: String]

    public init(_ variables: [String: String] = ProcessInfo.processInfo.environment) {
        self.variables = variables
    }

    /// The value of `name`, or nil when it is unset or empty.
    public subscript(_ name: String) -> String? {
        guard let value = variables[name], !value.isEmpty else { return nil }
        return value
    }

    public var homeDirectory: String {
        self["HOME"] ?? NSHomeDirectory()
    }

    /// `$XDG_CACHE_HOME`, else `~/.cache`.
    public var cacheHome: String {
        self["XDG_CACHE_HOME"] ?? (homeDirectory as NSString).appendingPathComponent(".cache")
    }

    /// True for the spellings huggingface_hub accepts (`1`, `ON`, `YES`, `TRUE`).
    public func flag(_ name: String) -> Bool {
        guard let value = self[name]?.uppercased() else { return false }
        return ["1", "ON", "YES", "TRUE"].contains(value)
    }
}

/// Log verbosity. A logger set to `info` emits `error`, `warning` and `info`; `off` emits nothing.
public enum LogLevel: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case off = 0, error, warning, info, debug, trace

    /// Parses "off", "error", "warning" (or "warn"), "info", "debug", "trace", any case.
    public init?(name: String) {
        switch name.lowercased() {
        case "warn": self = .warning
        case let lowered:
            guard let level = LogLevel.allCases.first(where: { $0.description == lowered }) else { return nil }
            self = level
        }
    }

    public var description: String {
        switch self {
        case .off: return "off"
        case .error: return "error"
        case .warning: return "warning"
        case .info: return "info"
        case .debug: return "debug"
        case .trace: return "trace"
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where the engine's log lines go. The executable routes them to stderr; the engine never
/// writes to stdout.
public struct LogSink: Sendable {
    private let write: @Sendable (LogLevel, String) -> Void

    public init(_ write: @escaping @Sendable (LogLevel, String) -> Void) {
        self.write = write
    }

    public static let discard = LogSink { _, _ in }

    public func callAsFunction(_ level: LogLevel, _ message: @autoclosure () -> String) {
        write(level, message())
    }
}
