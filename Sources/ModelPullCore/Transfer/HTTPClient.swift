import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP over one shared URLSession (so connections are kept alive across files), with the two
/// things URLSession does not do for us: a redirect policy that never carries a token to another
/// host, and streaming bodies to a consumer chunk by chunk.
public final class HTTPClient: @unchecked Sendable {
    private let session: URLSession
    private let delegate: SessionDelegate
    public let userAgent: String

    public init(userAgent: String, maxConnectionsPerHost: Int = 16) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = maxConnectionsPerHost
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        // Per request we set an idle timeout; this caps a whole transfer only as a last resort.
        configuration.timeoutIntervalForResource = 7 * 24 * 3600
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        queue.name = "modelpull.http"
        delegate = SessionDelegate()
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
        self.userAgent = userAgent
    }

    deinit {
        session.invalidateAndCancel()
    }

    /// Sends a request and collects its body, refusing bodies over `maxBodyBytes`.
    public func send(_ request: HTTPRequest, maxBodyBytes: Int = 32 << 20) async throws -> HTTPResponse {
        let collector = BodyCollector(limit: maxBodyBytes)
        let head = try await stream(request, errorBodyLimit: maxBodyBytes) { _ in } onData: { data in
            try collector.append(data)
        }
        if !head.head.isSuccess, let errorBody = head.errorBody {
            return HTTPResponse(head: head.head, body: errorBody)
        }
        return HTTPResponse(head: head.head, body: collector.data)
    }

    public struct StreamResult: Sendable {
        public var head: HTTPResponseHead
        /// For non-2xx responses the body is not streamed to the consumer; its first bytes are
        /// kept here so errors can quote what the server said.
        public var errorBody: Data?
    }

    /// Sends a request and hands a 2xx body to `onData` as it arrives, in order, on one thread
    /// at a time. `onHead` sees the response first and may throw to refuse the body. Errors
    /// thrown by either callback cancel the transfer and are rethrown here.
    public func stream(_ request: HTTPRequest, errorBodyLimit: Int = 64 << 10,
                       onHead: @escaping @Sendable (HTTPResponseHead) throws -> Void,
                       onData: @escaping @Sendable (Data) throws -> Void) async throws -> StreamResult {
        guard let scheme = request.url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw TransferError.unsupportedURL(request.url.absoluteString)
        }
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.httpBody = request.body
        urlRequest.timeoutInterval = request.idleTimeout
        urlRequest.setValue(userAgent, forHTTPHeaderField: "User-Agent")
        // Identity, so Content-Length and ranges count the bytes we store.
        urlRequest.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }

        let task = session.dataTask(with: urlRequest)
        let state = TaskState(request: request, errorBodyLimit: errorBodyLimit, onHead: onHead, onData: onData)
        delegate.register(state, for: task)
        let taskBox = UncheckedBox(task)

        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                state.setContinuation(continuation)
                taskBox.value.resume()
            }
        } onCancel: {
            state.markCancelled()
            taskBox.value.cancel()
        }
    }
}

/// Accumulates a response body up to a limit.
private final class BodyCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func append(_ data: Data) throws {
        lock.lock(); defer { lock.unlock() }
        guard buffer.count + data.count <= limit else { throw TransferError.responseTooLarge(limit: limit) }
        buffer.append(data)
    }

    var data: Data {
        lock.lock(); defer { lock.unlock() }
        return buffer
    }
}

/// Lets a non-Sendable Foundation object cross into a `@Sendable` closure where we know the
/// access is safe (URLSessionTask's resume/cancel are thread-safe).
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
