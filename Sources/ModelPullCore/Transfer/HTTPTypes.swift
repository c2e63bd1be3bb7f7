import Foundation

/// Response headers with case-insensitive lookup (HTTP field names are case-insensitive).
public struct HTTPHeaders: Sendable, Equatable {
    private var fields: [String: String]

    public init(_ fields: [String: String] = [:]) {
        // Names that differ only in case are one field: keep every value (RFC 9110 §5.3), so a
        // repeated field (two Content-Lengths) stays visible instead of one hiding the other.
        self.fields = Dictionary(fields.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { "\($0), \($1)" })
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

    /// The body's length from `Content-Length`; repeated identical values count as one (a head
    /// whose values conflict is refused by `FileBodyHead` before anyone asks).
    var contentLength: Int64? {
        guard let first = headers["Content-Length"]?.split(separator: ",").first else { return nil }
        return Int64(first.trimmingCharacters(in: .whitespaces))
    }
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
    /// A 2xx response that contradicts what was asked (a wrong Content-Range, more bytes than
    /// promised); a later attempt may get a better answer.
    case protocolViolation(String)
    /// A 2xx response we must not store and the same server would send again (a content coding
    /// we did not ask for, conflicting lengths): retrying cannot help.
    case unacceptableResponse(String)
    /// The response head did not arrive complete within the time allowed (a server sending it
    /// a line at a time).
    case headTimedOut(seconds: TimeInterval)
    /// The body arrived, but slower than the floor (`ThroughputFloor`) for a whole window.
    case tooSlow(bytes: Int64, seconds: TimeInterval)
    case unsupportedURL(String)
    /// The proxy could not be reached or refused the request; `proxy` names it without credentials.
    case proxyFailed(proxy: String, reason: String)
    /// The server's certificate is not signed by a trusted authority; `advice` says which
    /// variable to set (see `TrustEnvironment`).
    case untrustedCertificate(host: String, reason: String, advice: String)
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
