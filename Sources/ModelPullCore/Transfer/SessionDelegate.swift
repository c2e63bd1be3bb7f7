import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The per-request state that URLSession's delegate callbacks act on.
final class TaskState: Sendable {
    let request: HTTPRequest
    private let onHead: @Sendable (HTTPResponseHead) throws -> Void
    private let onData: @Sendable (Data) throws -> Void
    /// File bodies only: the head deadline and the throughput floor.
    private let watch: FileBodyWatch?

    private struct State {
        var continuation: CheckedContinuation<HTTPClient.StreamResult, any Error>?
        /// A completion that arrived before the continuation was set (the task was cancelled
        /// before it started and URLSession reported it at once); handed over in `setContinuation`.
        var earlyResult: Result<HTTPClient.StreamResult, any Error>?
        var head: HTTPResponseHead?
        var errorPage: ErrorPageCapture
        var failure: (any Error)?
        var cancelled = false
        var redirects: RedirectChain
    }
    private let state: LockedValue<State>

    init(request: HTTPRequest, errorBodyLimit: Int, watch: FileBodyWatch? = nil,
         onHead: @escaping @Sendable (HTTPResponseHead) throws -> Void,
         onData: @escaping @Sendable (Data) throws -> Void) {
        self.request = request
        state = LockedValue(State(errorPage: ErrorPageCapture(limit: errorBodyLimit), redirects: RedirectChain(request)))
        self.watch = watch
        self.onHead = onHead
        self.onData = onData
    }

    func setContinuation(_ continuation: CheckedContinuation<HTTPClient.StreamResult, any Error>) {
        let early = state.withLock { state -> Result<HTTPClient.StreamResult, any Error>? in
            guard let result = state.earlyResult else {
                state.continuation = continuation
                return nil
            }
            state.earlyResult = nil
            return result
        }
        if let early { continuation.resume(with: early) }
    }

    /// The task was resumed: the head's deadline runs from now.
    func started() {
        watch?.start { [weak self] expiry in self?.headExpired(expiry) ?? false }
    }

    /// The head's deadline passed: true (and the failure recorded) when the head is still
    /// missing, so the task is to be cancelled.
    private func headExpired(_ expiry: TransferError) -> Bool {
        state.withLock { state in
            guard state.head == nil, state.failure == nil, !state.cancelled else { return false }
            state.failure = expiry
            return true
        }
    }

    /// Cancels the transfer, under the lock, so a pending redirect question is answered either
    /// before the cancellation reaches URLSession or not at all (see `answerRedirect`).
    func cancel(_ task: URLSessionTask) {
        state.withLock { state in
            state.cancelled = true
            task.cancel()
        }
    }

    /// Answers URLSession's redirect question, unless the task was cancelled meanwhile:
    /// FoundationNetworking aborts the process ("Received callback for HTTP redirection, but
    /// we're not waiting for it") when the answer arrives after the cancellation, and a cancelled
    /// task completes without one. (Many small files are fetched through the Hub's redirects at
    /// once, and one failing cancels its siblings, so this race is real.)
    func answerRedirect(from response: HTTPURLResponse, to proposed: URLRequest,
                        _ completionHandler: @Sendable (URLRequest?) -> Void) {
        let decision = redirect(from: response, to: proposed)
        state.withLock { state in
            guard !state.cancelled else { return }
            completionHandler(decision)
        }
    }

    /// Returns false when the body is not wanted (a callback threw); the task is then cancelled.
    func receive(response: URLResponse) -> Bool {
        guard let http = response as? HTTPURLResponse else {
            fail(TransferError.protocolViolation("not an HTTP response"))
            return false
        }
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { fields[key] = value }
        }
        let head = HTTPResponseHead(status: http.statusCode, headers: HTTPHeaders(fields),
                                    url: http.url ?? request.url)
        state.withLock { $0.head = head }
        watch?.headArrived()
        do {
            try onHead(head)
            return true
        } catch {
            fail(error)
            return false
        }
    }

    func receive(data: Data) -> Bool {
        enum Route { case refuse, keptErrorPage(wantsMore: Bool), deliver }
        let route = state.withLock { state -> Route in
            // Once a callback refused the transfer, bytes still in flight must go nowhere (a
            // refused download must not write a byte; URLSession may deliver a few after cancel).
            guard state.failure == nil, !state.cancelled else { return .refuse }
            if let expiry = watch?.received(data.count) {
                // A body below the floor (an error page included) ends like a stall.
                state.failure = expiry
                return .refuse
            }
            if let head = state.head, !head.isSuccess {
                // Enough to quote: stop reading (returning false cancels the transfer).
                return .keptErrorPage(wantsMore: data.withUnsafeBytes { state.errorPage.append($0) })
            }
            return .deliver
        }
        switch route {
        case .refuse: return false
        case .keptErrorPage(let wantsMore): return wantsMore
        case .deliver: break
        }
        do {
            if let watch { try watch.measure { try onData(data) } } else { try onData(data) }
            return true
        } catch {
            fail(error)
            return false
        }
    }

    /// Decides a redirect by `RedirectChain`: nil stops the chain and the 3xx becomes the response.
    func redirect(from response: HTTPURLResponse, to proposed: URLRequest) -> URLRequest? {
        let dropAuthorization = state.withLock { state -> Bool? in
            guard let target = proposed.url, state.redirects.follows(target) else { return nil }
            do {
                try state.redirects.hop(to: target)
            } catch {
                state.failure = state.failure ?? error
                return nil
            }
            return state.redirects.authorizationDropped
        }
        guard let dropAuthorization else { return nil }
        var next = proposed
        if dropAuthorization {
            next.setValue(nil, forHTTPHeaderField: "Authorization")
        } else if let token = request.headers.first(where: { $0.key.lowercased() == "authorization" }) {
            // Some URLSession versions drop custom headers on redirect; same origin keeps it.
            next.setValue(token.value, forHTTPHeaderField: "Authorization")
        }
        // A redirected HEAD stays a HEAD (URLSession would turn it into a GET).
        if request.method == "HEAD" { next.httpMethod = "HEAD" }
        watch?.armHeadDeadline()
        return next
    }

    func fail(_ error: any Error) {
        state.withLock { state in
            if state.failure == nil { state.failure = error }
        }
    }

    func complete(with transportError: (any Error)?) {
        watch?.end()
        let idleTimeout = request.idleTimeout
        let (continuation, result) = state.withLock { state in
            let continuation = state.continuation
            state.continuation = nil
            let result = ExchangeEnding.decide(failure: state.failure, cancelled: state.cancelled, head: state.head,
                                               errorPage: state.errorPage) {
                transportError.map { Self.classify($0, idleTimeout: idleTimeout) }
            }
            if continuation == nil { state.earlyResult = result }
            return (continuation, result)
        }
        continuation?.resume(with: result)
    }

    private static func classify(_ error: any Error, idleTimeout: TimeInterval) -> any Error {
        guard let urlError = error as? URLError else { return TransferError.network("\(error)") }
        switch urlError.code {
        case .cancelled: return CancellationError()
        case .timedOut: return TransferError.stalled(seconds: idleTimeout)
        case .unsupportedURL, .badURL: return TransferError.unsupportedURL(urlError.failingURL?.absoluteString ?? "")
        case .httpTooManyRedirects, .redirectToNonExistentLocation: return TransferError.tooManyRedirects(10)
        default: return TransferError.network(urlError.localizedDescription)
        }
    }
}

/// Routes URLSession's delegate callbacks to the state of each task.
final class SessionDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// The time this lane's delegate queue spends in consumers (see `FileBodyWatch`).
    let consumerClock = ConsumerClock()
    private let states = LockedValue<[Int: TaskState]>([:])

    func register(_ state: TaskState, for task: URLSessionTask) {
        states.withLock { $0[task.taskIdentifier] = state }
    }

    private func state(for task: URLSessionTask) -> TaskState? {
        states.current[task.taskIdentifier]
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let wanted = state(for: dataTask)?.receive(response: response) ?? false
        completionHandler(wanted ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if state(for: dataTask)?.receive(data: data) == false {
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        guard let state = state(for: task) else { return completionHandler(nil) }
        state.answerRedirect(from: response, to: request, completionHandler)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        states.withLock { $0.removeValue(forKey: task.taskIdentifier) }?.complete(with: error)
    }
}
