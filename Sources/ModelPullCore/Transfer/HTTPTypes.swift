import Foundation

/// Response headers with case-insensitive lookup (HTTP field names are case-insensitive).
public struct HTTPHeaders: Sendable, Equatable {
    private var fields: [String: String]

    public init(_ fields: [String: String] = [:]) {
        self.fields = Dictionary(fields.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    public subscript(_ name: String) -> String? {
        fields[name.lowercased()]
    }

    public var all: [String: String] { fields }
}

/// How a request treats redirects. Authorization is the point: a token belongs to one origin.
public enum RedirectPolicy: Sendable {
    /// Follow every redirect; same-origin hops keep `Authorization`, the first cross-origin hop
    /// drops it for the rest of the chain (the Hub's 302 to a signed CDN URL).
    case follow
    /// Follow same-origin redirects (the Hub's relative 307), return a cross-origin 3xx as the
    /// response so the caller can read its headers.
    case stopAtCrossOrigin
    /// Return any 3xx as the response.
    case never
}

public struct HTTPRequest: Sendable {
    public var url: URL
    public var method: String
    public var headers: [String: String]
    public var body: Data?
    public var redirects: RedirectPolicy
    /// Seconds without a byte before the request counts as stalled.
    public var idleTimeout: TimeInterval

    public init(url: URL, method: String = "GET", headers: [String: String] = [:], body: Data? = nil,
                redirects: RedirectPolicy = .follow, idleTimeout: TimeInterval = 30) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.redirects = redirects
        self.idleTimeout = idleTimeout
    }
}

public struct HTTPResponseHead: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    /// The URL that answered, after redirects.
    public var url: URL

    public var isSuccess: Bool { (200..<300).contains(status) }
    public var isRedirect: Bool { (300..<400).contains(status) }
}

public struct HTTPResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: Data

    public var status: Int { head.status }
    public var headers: HTTPHeaders { head.headers }
}

/// Transport failures, before any provider gives them meaning.
public enum TransferError: Error, Sendable, Equatable {
    /// No byte arrived for the idle timeout.
    case stalled(seconds: TimeInterval)
    /// The connection failed or was cut; `description` is the system's wording.
    case network(String)
    /// More redirects than any real server sends: a loop.
    case tooManyRedirects(Int)
    /// The body was larger than the caller accepts (garbage or hostile JSON).
    case responseTooLarge(limit: Int)
    /// Fewer bytes arrived than the server promised.
    case truncated(expected: Int64, received: Int64)
    /// A 2xx response that contradicts what was asked (a wrong Content-Range).
    case protocolViolation(String)
    case unsupportedURL(String)
}

extension URL {
    /// scheme://host:port, the unit a token is scoped to.
    var origin: String {
        let scheme = (self.scheme ?? "").lowercased()
        let host = (self.host ?? "").lowercased()
        let port = self.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : 0)
        return "\(scheme)://\(host):\(port)"
    }
}
