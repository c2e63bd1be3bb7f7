import Foundation

public typealias HTTPHandler = @Sendable (HTTPRequest) -> HTTPResponse

/// Maps requests to handlers by method and exact path or path prefix; 404 when no path
/// matches, 405 (with `Allow`) when the path matches but the method does not.
///
/// Routes can be added at any time, including after the server started (handy when a response
/// must mention the server's own port). Precedence: exact paths beat prefixes, longer prefixes
/// beat shorter ones, method-specific routes beat any-method ones, and among equals the most
/// recently added wins, so a test can override a route set up by a shared fixture.
/// A GET route also answers HEAD (the server strips the body).
///
///     let router = Router()
///     router.get("/health") { _ in .text("ok") }
///     router.file("/model.bin", StaticFile(data: blob))
///     router.redirect("/old", to: "/model.bin", status: 301)
///     let server = try LoopbackHTTPServer(router: router)
public final class Router: @unchecked Sendable {
    private struct Route {
        var match: RequestMatch
        var handler: HTTPHandler
        var order: Int
    }

    private let lock = NSLock()
    private var routes: [Route] = []
    private let fallback: HTTPHandler

    /// `fallback` answers requests no route's path matches (404 by default).
    public init(fallback: @escaping HTTPHandler = { _ in .notFound() }) {
        self.fallback = fallback
    }

    /// Adds a route for `match` (method nil = any method).
    public func add(_ match: RequestMatch, _ handler: @escaping HTTPHandler) {
        lock.lock()
        routes.append(Route(match: match, handler: handler, order: routes.count))
        lock.unlock()
    }

    public func on(_ method: String, _ path: String, _ handler: @escaping HTTPHandler) {
        add(.path(path, method: method), handler)
    }

    public func get(_ path: String, _ handler: @escaping HTTPHandler) { on("GET", path, handler) }
    public func post(_ path: String, _ handler: @escaping HTTPHandler) { on("POST", path, handler) }
    public func put(_ path: String, _ handler: @escaping HTTPHandler) { on("PUT", path, handler) }
    public func delete(_ path: String, _ handler: @escaping HTTPHandler) { on("DELETE", path, handler) }

    /// Every request whose path starts with `prefix` (optionally only for one method).
    public func prefix(_ prefix: String, method: String? = nil, _ handler: @escaping HTTPHandler) {
        add(.prefix(prefix, method: method), handler)
    }

    /// Serves `file` at `path` for GET and HEAD, with ranges, ETag and conditional requests.
    public func file(_ path: String, _ file: StaticFile) {
        get(path) { file.response(for: $0) }
    }

    /// Answers any method on `path` with a redirect to `location` (absolute or relative).
    public func redirect(_ path: String, to location: String, status: Int = 302) {
        add(.path(path)) { _ in .redirect(to: location, status: status) }
    }

    /// Removes every route.
    public func removeAll() {
        lock.lock()
        routes.removeAll()
        lock.unlock()
    }

    /// Picks the best route for `request` and runs it (outside the lock, so handlers may add
    /// routes or block without stalling other connections).
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        lock.lock()
        let candidates = routes.filter { $0.match.matchesPath(request.path) }
        lock.unlock()
        guard !candidates.isEmpty else { return fallback(request) }

        let method = request.method.uppercased()
        let accepting = candidates.filter { route in
            route.match.matchesMethod(method) || (method == "HEAD" && route.match.method == "GET")
        }
        guard let best = accepting.max(by: { Self.rank($0) < Self.rank($1) }) else {
            let allowed = Set(candidates.compactMap(\.match.method)).sorted()
            let allowHeader = (allowed.contains("GET") ? allowed + ["HEAD"] : allowed).joined(separator: ", ")
            return .status(405, headers: ["Allow": allowHeader])
        }
        return best.handler(request)
    }

    /// Ordering key for precedence; larger is better.
    private static func rank(_ route: Route) -> (Int, Int, Int, Int) {
        let specificity: (Int, Int)
        switch route.match.pattern {
        case .exact(let path): specificity = (2, path.count)
        case .prefix(let prefix): specificity = (1, prefix.count)
        case .any: specificity = (0, 0)
        }
        return (specificity.0, specificity.1, route.match.method == nil ? 0 : 1, route.order)
    }
}
