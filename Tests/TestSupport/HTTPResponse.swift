import Foundation

/// What a handler returns. The server adds the framing headers (`Content-Length` or
/// `Transfer-Encoding: chunked`) itself unless the handler set them explicitly, and for HEAD it
/// sends exactly the headers a GET would get, without the body.
public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        /// A complete body, sent with `Content-Length`.
        case bytes(Data)
        /// A body sent with chunked transfer encoding, one HTTP chunk per element (empty elements
        /// are skipped because an empty chunk would end the body), pausing between chunks.
        case chunked([Data], delayBetweenChunks: TimeInterval = 0)
        /// A body produced progressively by the closure (NDJSON lines, slow streams). Sent
        /// chunked unless the handler set `Content-Length`, in which case it is written raw.
        /// If the closure throws, the connection is closed (the body is then incomplete).
        case stream(@Sendable (ResponseWriter) throws -> Void)
    }

    public var status: Int
    /// Reason phrase for the status line; a standard one is used when nil.
    public var reason: String?
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: Int = 200, reason: String? = nil, headers: HTTPHeaders = [:], body: Body = .bytes(Data())) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// Returns a copy with one more header field (duplicates allowed, e.g. several `Link`s).
    public func adding(_ name: String, _ value: String) -> HTTPResponse {
        var copy = self
        copy.headers.add(name, value)
        return copy
    }

    /// Returns a copy with `name` set to exactly `value`.
    public func setting(_ name: String, _ value: String) -> HTTPResponse {
        var copy = self
        copy.headers.set(name, value)
        return copy
    }

    // MARK: - Common responses

    public static func bytes(_ data: Data, status: Int = 200, contentType: String = "application/octet-stream") -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: .bytes(data))
    }

    public static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: .bytes(Data(text.utf8)))
    }

    public static func json(_ text: String, status: Int = 200) -> HTTPResponse {
        .text(text, status: status, contentType: "application/json")
    }

    public static func json(data: Data, status: Int = 200) -> HTTPResponse {
        .bytes(data, status: status, contentType: "application/json")
    }

    /// Encodes `value` with sorted keys so bodies are deterministic across runs.
    public static func json<T: Encodable>(encoding value: T, status: Int = 200) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return .json(data: try encoder.encode(value), status: status)
        } catch {
            return .text("encoding failed: \(error)", status: 500)
        }
    }

    /// A bare status with a short text body naming it (e.g. 503 "Service Unavailable").
    public static func status(_ code: Int, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var response = HTTPResponse.text("\(code) \(reasonPhrase(for: code))\n", status: code)
        for field in headers { response.headers.add(field.name, field.value) }
        return response
    }

    public static func notFound() -> HTTPResponse { .status(404) }

    /// A redirect. `location` may be absolute (`http://127.0.0.1:1234/x`) or relative (`/x`,
    /// `../x`); it is sent verbatim so tests can exercise the client's URL resolution.
    public static func redirect(to location: String, status: Int = 302) -> HTTPResponse {
        HTTPResponse.status(status, headers: ["Location": location])
    }

    /// A progressively written body, chunked, e.g. `.stream(contentType: "application/x-ndjson") { w in ... }`.
    public static func stream(
        status: Int = 200,
        contentType: String = "application/octet-stream",
        _ produce: @escaping @Sendable (ResponseWriter) throws -> Void
    ) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: .stream(produce))
    }

    /// Whether a response with this status may carry a body at all (RFC 9110: 1xx, 204, 304 may not).
    static func allowsBody(status: Int) -> Bool {
        !(100..<200).contains(status) && status != 204 && status != 304
    }

    public static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 412: return "Precondition Failed"
        case 416: return "Range Not Satisfiable"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Status \(status)"
        }
    }
}
