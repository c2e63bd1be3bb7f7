import Foundation

/// One request as the loopback server received it. Everything is captured verbatim so tests can
/// assert on exactly what the client sent (including headers that must never be sent).
public struct HTTPRequest: Sendable {
    /// Request method as sent, e.g. "GET", "HEAD", "POST".
    public var method: String
    /// The request-target exactly as it appeared on the request line (path plus query).
    public var target: String
    /// The path without the query, still percent-encoded as sent (what routes match against).
    public var path: String
    /// Query items in order, percent-decoded.
    public var queryItems: [URLQueryItem]
    /// "HTTP/1.1" or "HTTP/1.0".
    public var version: String
    public var headers: HTTPHeaders
    public var body: Data
    /// Index of the TCP connection the request arrived on (0 for the first accepted connection).
    /// Two requests with the same index prove the client reused a keep-alive connection.
    public var connectionIndex: Int
    /// Position of this request on its connection (0 for the first request).
    public var indexOnConnection: Int
    /// When the server finished reading the request (useful for asserting retry back-off).
    public var receivedAt: Date

    public init(
        method: String,
        target: String,
        version: String = "HTTP/1.1",
        headers: HTTPHeaders = [:],
        body: Data = Data(),
        connectionIndex: Int = 0,
        indexOnConnection: Int = 0,
        receivedAt: Date = Date()
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.connectionIndex = connectionIndex
        self.indexOnConnection = indexOnConnection
        self.receivedAt = receivedAt
        (path, queryItems) = Self.split(target: target)
    }

    /// The path with percent-escapes decoded (falls back to the raw path if decoding fails).
    public var decodedPath: String { path.removingPercentEncoding ?? path }

    /// The first value of a header, looked up case-insensitively.
    public func header(_ name: String) -> String? { headers[name] }

    /// The first value of a query parameter.
    public func queryValue(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// The body decoded as UTF-8 (empty string if it is not valid UTF-8).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as JSON (nil if it is not valid JSON).
    public var bodyJSON: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }

    /// Whether the client asked to close the connection after this request. HTTP/1.0 closes by
    /// default unless it asks for keep-alive; HTTP/1.1 keeps alive unless it says `close`.
    public var wantsClose: Bool {
        if headers.hasToken("close", in: "Connection") { return true }
        if version == "HTTP/1.0" { return !headers.hasToken("keep-alive", in: "Connection") }
        return false
    }

    /// Splits a request-target into path and query. Absolute-form targets
    /// (`http://host/path`, as sent to proxies) are reduced to their path.
    static func split(target: String) -> (String, [URLQueryItem]) {
        var rest = Substring(target)
        if let schemeEnd = rest.range(of: "://"), rest.hasPrefix("http") {
            let afterScheme = rest[schemeEnd.upperBound...]
            rest = afterScheme.firstIndex(of: "/").map { afterScheme[$0...] } ?? "/"
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        guard let question = rest.firstIndex(of: "?") else { return (String(rest), []) }
        let path = String(rest[..<question])
        let query = rest[rest.index(after: question)...]
        let items = query.split(separator: "&", omittingEmptySubsequences: true).map { pair -> URLQueryItem in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return URLQueryItem(name: decode(parts[0]), value: parts.count > 1 ? decode(parts[1]) : nil)
        }
        return (path, items)
    }
}
