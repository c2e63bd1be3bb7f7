import Foundation

/// The redirect rules both engines apply, hop by hop: at most ten hops; `.never` and
/// `.stopAtCrossOrigin` end the chain where they say (the 3xx is then the response); once a hop
/// leaves the request's origin, `Authorization` is dropped for the rest of the chain, so a token
/// never reaches a CDN or a third host.
struct RedirectChain: Sendable {
    static let maximumHops = 10
    let policy: RedirectPolicy
    let origin: String
    private(set) var hops = 0
    private(set) var authorizationDropped = false

    init(_ request: HTTPRequest) {
        policy = request.redirects
        origin = request.url.origin
    }

    /// Whether a redirect to `target` is followed at all.
    func follows(_ target: URL) -> Bool {
        switch policy {
        case .never: false
        case .stopAtCrossOrigin: target.origin == origin
        case .follow: true
        }
    }

    /// Counts a hop to `target`; afterwards `authorizationDropped` says whether the request to
    /// it must go without `Authorization`. Throws after the tenth hop.
    mutating func hop(to target: URL) throws(TransferError) {
        hops += 1
        guard hops <= Self.maximumHops else { throw .tooManyRedirects(hops) }
        if target.origin != origin { authorizationDropped = true }
    }
}

/// The start of an error response's body, kept to quote in the failure: at most `limit` bytes,
/// then the response is cut there on purpose (an error page that never ends must not hold the
/// connection), which `ExchangeEnding` does not count as a transport failure.
struct ErrorPageCapture: Sendable {
    let limit: Int
    private(set) var body = Data()
    private(set) var isCut = false

    init(limit: Int) {
        self.limit = limit
    }

    /// Keeps what fits of `bytes`; false once enough is kept (stop reading).
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let room = max(0, limit - body.count)
        body.append(contentsOf: bytes.prefix(room))
        if body.count >= limit { isCut = true }
        return !isCut
    }
}

/// How an exchange ended, decided the same way on both engines. In this order: a callback's
/// refusal (or the engine's own verdict: a stall, a cancellation it saw) wins; then a
/// cancellation; then an error page cut on purpose, which is the response; then the
/// transport's error; then the response itself (with the start of its body when not 2xx).
enum ExchangeEnding {
    static func decide(failure: (any Error)?, cancelled: Bool, head: HTTPResponseHead?, errorPage: ErrorPageCapture,
                       transportError: () -> (any Error)?) -> Result<HTTPClient.StreamResult, any Error> {
        if let failure { return .failure(failure) }
        if cancelled { return .failure(CancellationError()) }
        if errorPage.isCut, let head { return .success(.init(head: head, errorBody: errorPage.body)) }
        if let transportError = transportError() { return .failure(transportError) }
        guard let head else {
            return .failure(TransferError.network("the server closed the connection without a response"))
        }
        return .success(.init(head: head, errorBody: head.isSuccess ? nil : errorPage.body))
    }
}
