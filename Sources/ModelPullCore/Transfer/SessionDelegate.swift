import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The per-request state that URLSession's delegate callbacks act on.
final class TaskState: @unchecked Sendable {
    private let lock = NSLock()
    let request: HTTPRequest
    private let onHead: @Sendable (HTTPResponseHead) throws -> Void
    private let onData: @Sendable (Data) throws -> Void
    /// File bodies only: the head deadline and the throughput floor.
    private let watch: FileBodyWatch?

    private var continuation: CheckedContinuation<HTTPClient.StreamResult, any Error>?
    /// A completion that arrived before the continuation was set (the task was cancelled before
    /// it started and URLSession reported it at once); handed over in `setContinuation`.
    private var earlyResult: Result<HTTPClient.StreamResult, any Error>?
    private var head: HTTPResponseHead?
    private var errorPage: ErrorPageCapture
    private var failure: (any Error)?
    private var cancelled = false
    private var redirects: RedirectChain

    init(request: HTTPRequest, errorBodyLimit: Int, watch: FileBodyWatch? = nil,
         onHead: @escaping @Sendable (HTTPResponseHead) throws -> Void,
         onData: @escaping @Sendable (Data) throws -> Void) {
        self.request = request
        errorPage = ErrorPageCapture(limit: errorBodyLimit)
        redirects = RedirectChain(request)
        self.watch = watch
        self.onHead = onHead
        self.onData = onData
    }

    func setContinuation(_ continuation: CheckedContinuation<HTTPClient.StreamResult, any Error>) {
        lock.lock()
        if let result = earlyResult {
            earlyResult = nil
            lock.unlock()
            continuation.resume(with: result)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    /// The task was resumed: the head's deadline runs from now.
    func started() {
        watch?.start { [weak self] expiry in self?.headExpired(expiry) ?? false }
    }

    /// The head's deadline passed: true (and the failure recorded) when the head is still
    /// missing, so the task is to be cancelled.
    private func headExpired(_ expiry: TransferError) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard head == nil, failure == nil, !cancelled else { return false }
        failure = expiry
        return true
    }

    /// Cancels the transfer, under the lock, so a pending redirect question is answered either
    /// before the cancellation reaches URLSession or not at all (see `answerRedirect`).
    func cancel(_ task: URLSessionTask) {
        lock.lock(); defer { lock.unlock() }
        cancelled = true
        task.cancel()
    }

    /// Answers URLSession's redirect question, unless the task was cancelled meanwhile:
    /// FoundationNetworking aborts the process ("Received callback for HTTP redirection, but
    /// we're not waiting for it") when the answer arrives after the cancellation, and a cancelled
    /// task completes without one. (Many small files are fetched through the Hub's redirects at
    /// once, and one failing cancels its siblings, so this race is real.)
    func answerRedirect(from response: HTTPURLResponse, to proposed: URLRequest,
                        _ completionHandler: @Sendable (URLRequest?) -> Void) {
        let decision = redirect(from: response, to: proposed)
        lock.lock(); defer { lock.unlock() }
        guard !cancelled else { return }
        completionHandler(decision)
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
        lock.lock()
        self.head = head
        lock.unlock()
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
        lock.lock()
        // Once a callback refused the transfer, bytes still in flight must go nowhere (a
        // refused download must not write a byte; URLSession may deliver a few after cancel).
        guard failure == nil, !cancelled else {
            lock.unlock()
            return false
        }
        let head = self.head
        if let expiry = watch?.received(data.count) {
            // A body below the floor (an error page included) ends like a stall.
            if failure == nil { failure = expiry }
            lock.unlock()
            return false
        }
        if let head, !head.isSuccess {
            // Enough to quote: stop reading (returning false cancels the transfer).
            let wantsMore = data.withUnsafeBytes { errorPage.append($0) }
            lock.unlock()
            return wantsMore
        }
        lock.unlock()
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
        lock.lock(); defer { lock.unlock() }
        guard let target = proposed.url, redirects.follows(target) else { return nil }
        do {
            try redirects.hop(to: target)
        } catch {
            failure = failure ?? error
            return nil
        }
        var next = proposed
        if redirects.authorizationDropped {
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
        lock.lock(); defer { lock.unlock() }
        if failure == nil { failure = error }
    }

    func complete(with transportError: (any Error)?) {
        watch?.end()
        lock.lock()
        let continuation = self.continuation
        self.continuation = nil
        let idleTimeout = request.idleTimeout
        let result = ExchangeEnding.decide(failure: failure, cancelled: cancelled, head: head, errorPage: errorPage) {
            transportError.map { Self.classify($0, idleTimeout: idleTimeout) }
        }
        if continuation == nil { earlyResult = result }
        lock.unlock()
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
    private let lock = NSLock()
    private var states: [Int: TaskState] = [:]

    func register(_ state: TaskState, for task: URLSessionTask) {
        lock.lock(); defer { lock.unlock() }
        states[task.taskIdentifier] = state
    }

    private func state(for task: URLSessionTask) -> TaskState? {
        lock.lock(); defer { lock.unlock() }
        return states[task.taskIdentifier]
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
        lock.lock()
        let state = states.removeValue(forKey: task.taskIdentifier)
        lock.unlock()
        state?.complete(with: error)
    }
}
