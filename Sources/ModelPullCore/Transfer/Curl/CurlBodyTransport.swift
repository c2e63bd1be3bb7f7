import Foundation

/// Every request over libcurl when it is the engine (see `TransferEngine`): the same contract
/// as `HTTPClient.stream`, with `RedirectChain` applied here, hop by hop, exactly as `TaskState`
/// applies it for URLSession. File bodies (`fileBody`) also get `FileBodyHead`'s deadline and the
/// throughput floor; API calls only the idle timeout (Ollama's pull stream is rightly silent
/// while the server hashes). Proxies and trusted authorities come from `network`, per hop.
struct CurlBodyTransport: Sendable {
    let loop: CurlEventLoop
    let userAgent: String
    let network: NetworkEnvironment

    func stream(_ request: HTTPRequest, errorBodyLimit: Int, fileBody: Bool,
                onHead: @escaping @Sendable (HTTPResponseHead) throws -> Void,
                onData: @escaping @Sendable (Data) throws -> Void) async throws -> HTTPClient.StreamResult {
        var url = request.url
        var method = request.method
        var body = request.body
        var headers = request.headers
        // A caller's own User-Agent stands (the Ollama registry is asked as Ollama asks it).
        if !headers.keys.contains(where: { $0.lowercased() == "user-agent" }) { headers["User-Agent"] = userAgent }
        // Identity, so Content-Length and ranges count the bytes we store.
        headers["Accept-Encoding"] = "identity"
        var chain = RedirectChain(request)
        while true {
            guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                throw TransferError.unsupportedURL(url.redactedForLogs)
            }
            let current = url
            let rules = chain
            let follows: @Sendable (HTTPResponseHead) -> Bool = { head in
                Self.location(of: head, from: current).map(rules.follows) ?? false
            }
            let settings = CurlExchange.Settings(method: method, body: body, idleTimeout: request.idleTimeout,
                                                 headDeadline: fileBody ? FileBodyHead.deadline(for: request) : nil,
                                                 throughputFloor: fileBody, proxy: network.proxies.proxy(for: url),
                                                 trust: network.trust)
            guard let exchange = CurlExchange(url: url, headers: headers, settings: settings,
                                              errorBodyLimit: errorBodyLimit, follows: follows,
                                              onHead: onHead, onData: onData) else {
                throw TransferError.network("libcurl could not start a transfer")
            }
            let outcome = try await perform(exchange)
            guard outcome.isRedirect, let next = Self.location(of: outcome.head, from: url) else {
                return HTTPClient.StreamResult(head: outcome.head, errorBody: outcome.errorBody)
            }
            try chain.hop(to: next)
            // Removed, not restored: once the chain leaves the origin, the token stays behind.
            if chain.authorizationDropped { headers = headers.filter { $0.key.lowercased() != "authorization" } }
            // As browsers and URLSession do: a 303 (and a 301/302 after a POST) asks for a GET.
            if outcome.head.status == 303 || ([301, 302].contains(outcome.head.status) && method == "POST") {
                method = "GET"
                body = nil
            }
            url = next
        }
    }

    private func perform(_ exchange: CurlExchange) async throws -> CurlExchange.Outcome {
        let box = UncheckedBox(exchange)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard exchange.attach(continuation) else {
                    return continuation.resume(throwing: CancellationError())
                }
                loop.add(exchange)
            }
        } onCancel: {
            loop.cancel(box.value)
        }
    }

    /// Where a redirect points, resolved against the URL that answered; nil when it points
    /// nowhere we can go.
    private static func location(of head: HTTPResponseHead, from url: URL) -> URL? {
        guard [301, 302, 303, 307, 308].contains(head.status), let location = head.headers["Location"],
              let next = URL(string: location, relativeTo: url)?.absoluteURL,
              let scheme = next.scheme?.lowercased(), scheme == "http" || scheme == "https" else { return nil }
        return next
    }
}
