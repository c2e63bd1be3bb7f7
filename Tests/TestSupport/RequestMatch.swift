import Foundation

/// Which requests a route or a fault applies to: an optional method plus an exact path, a path
/// prefix, or any path. Shared by `Router` and `FaultInjector` so both read the same way.
public struct RequestMatch: Sendable, Equatable, CustomStringConvertible {
    public enum PathPattern: Sendable, Equatable {
        case any
        case exact(String)
        case prefix(String)
    }

    /// Upper-case method, or nil for any method.
    public var method: String?
    public var pattern: PathPattern

    public init(method: String? = nil, pattern: PathPattern) {
        self.method = method?.uppercased()
        self.pattern = pattern
    }

    /// Every request.
    public static let any = RequestMatch(pattern: .any)

    /// Requests whose path (without query) equals `path`.
    public static func path(_ path: String, method: String? = nil) -> RequestMatch {
        RequestMatch(method: method, pattern: .exact(path))
    }

    /// Requests whose path starts with `prefix`.
    public static func prefix(_ prefix: String, method: String? = nil) -> RequestMatch {
        RequestMatch(method: method, pattern: .prefix(prefix))
    }

    public func matchesPath(_ path: String) -> Bool {
        switch pattern {
        case .any: return true
        case .exact(let expected): return path == expected
        case .prefix(let prefix): return path.hasPrefix(prefix)
        }
    }

    public func matchesMethod(_ requestMethod: String) -> Bool {
        method == nil || method == requestMethod.uppercased()
    }

    public func matches(_ request: HTTPRequest) -> Bool {
        matchesMethod(request.method) && matchesPath(request.path)
    }

    public var description: String {
        let pathText: String
        switch pattern {
        case .any: pathText = "*"
        case .exact(let path): pathText = path
        case .prefix(let prefix): pathText = prefix + "*"
        }
        return "\(method ?? "ANY") \(pathText)"
    }
}
