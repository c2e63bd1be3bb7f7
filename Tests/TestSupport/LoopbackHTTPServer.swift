import Foundation

/// A real HTTP/1.1 server on 127.0.0.1 and a free port, for tests that exercise URLSession,
/// curl or any other client over real sockets.
///
///     let server = try LoopbackHTTPServer { request in .text("hello") }
///     defer { server.stop() }
///     let (data, _) = try await URLSession.shared.data(from: server.url("/hello"))
///
/// One thread per connection with blocking I/O; keep-alive, `Connection: close`, request bodies
/// (Content-Length or chunked), HEAD, chunked and streamed responses. Everything the server
/// receives is logged (`requests`), and body bytes sent are counted in total and per path.
/// Faults (drops, stalls, error statuses, corruption, slow starts, rate limits) are configured
/// through `faults`.
public final class LoopbackHTTPServer: Sendable {
    /// The port the kernel assigned.
    public let port: UInt16
    /// Per-route fault injection; see `FaultInjector`.
    public let faults: FaultInjector
    private let core: ServerCore

    /// Starts listening immediately. `handler` runs on the connection's thread, once per request.
    public init(handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws {
        faults = FaultInjector()
        core = try ServerCore(handler: handler, faults: faults)
        port = core.port
    }

    /// Serves requests through `router` (routes may still be added after the server started).
    public convenience init(router: Router) throws {
        try self.init(handler: { router.handle($0) })
    }

    deinit {
        core.stop()
    }

    /// Stops accepting, closes every open connection (clients see the connection end) and
    /// interrupts stalls, delays and `ResponseWriter.sleep`. Idempotent; `deinit` calls it too.
    public func stop() {
        core.stop()
    }

    // MARK: - URLs

    /// "127.0.0.1:<port>", e.g. for building `Location` headers.
    public var authority: String { "127.0.0.1:\(port)" }

    /// http://127.0.0.1:<port>
    public var baseURL: URL { url("") }

    /// The URL for `path` (which may carry a query). Pass `host: "localhost"` to reach the same
    /// server under a different host name, e.g. to test cross-host redirects.
    public func url(_ path: String, host: String = "127.0.0.1") -> URL {
        let normalized = path.isEmpty || path.hasPrefix("/") ? path : "/" + path
        let base = "http://\(host):\(port)"
        if let url = URL(string: base + normalized) { return url }
        let escaped = normalized.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? normalized
        guard let url = URL(string: base + escaped) else { preconditionFailure("unusable path \(path)") }
        return url
    }

    // MARK: - Request log

    /// Every request received so far, in arrival order (including ones answered by faults).
    public var requests: [HTTPRequest] { core.log.all }

    public var requestCount: Int { core.log.all.count }

    /// Requests whose path (without query) equals `path`.
    public func requests(to path: String) -> [HTTPRequest] {
        core.log.all.filter { $0.path == path }
    }

    public func requests(matching match: RequestMatch) -> [HTTPRequest] {
        core.log.all.filter { match.matches($0) }
    }

    /// Requests that carried header `name`; an empty result proves it was never sent
    /// (e.g. no `Authorization` after a cross-host redirect).
    public func requests(withHeader name: String) -> [HTTPRequest] {
        core.log.all.filter { $0.headers.contains(name) }
    }

    /// Blocks until at least `count` requests have arrived. Returns false on timeout.
    @discardableResult
    public func waitForRequests(count: Int, timeout: TimeInterval = 5) -> Bool {
        core.log.wait(forCount: count, timeout: timeout)
    }

    public func clearRequestLog() {
        core.log.removeAll()
    }

    // MARK: - Counters

    /// Response body bytes handed to the kernel (no headers, no chunk framing).
    public var bodyBytesSent: Int { core.counters.totalSent }

    /// Response body bytes sent for requests to `path`.
    public func bodyBytesSent(path: String) -> Int { core.counters.byPath[path] ?? 0 }

    public var bodyBytesSentByPath: [String: Int] { core.counters.byPath }

    public func resetByteCounters() {
        core.counters.reset()
    }

    /// TCP connections accepted so far.
    public var connectionsAccepted: Int { core.connections.acceptedCount }

    /// TCP connections currently open.
    public var openConnections: Int { core.connections.openCount }
}
