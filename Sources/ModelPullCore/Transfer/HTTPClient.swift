import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP over a few long-lived URLSessions (so connections are kept alive across files), with
/// the two things URLSession does not do for us: a redirect policy that never carries a token to
/// another host, and streaming bodies to a consumer chunk by chunk.
public final class HTTPClient: @unchecked Sendable {
    /// Each lane is a URLSession with its own libcurl thread and its own serial delegate queue,
    /// so the callbacks of one request stay in order while two requests' callbacks run in
    /// parallel. URLSession hands over 16 KiB per callback through an Operation, and one serial
    /// queue fell behind the network on the benchmark machine; two lanes cut CPU per GiB by
    /// about a tenth and kept buffered bytes lower (Benchmarks/RESULTS.md). Requests take lanes
    /// in turn.
    static let laneCount = 2

    private let lanes: [SessionLane]
    private let turn = TurnCounter()
    public let userAgent: String
    /// The connections file transfers share (API calls do not take a slot: they are short).
    public let connectionBudget: ConnectionBudget

    /// Carries every request when libcurl is the engine (see `TransferEngine`).
    private let curlTransport: CurlBodyTransport?
    public let engine: TransferEngine
    /// Proxies and trusted authorities, as the environment set them (libcurl engine).
    public let network: NetworkEnvironment

    public init(userAgent: String, connectionBudget: Int = ConnectionBudget.defaultCapacity,
                engine: TransferEngine = .urlsession, network: NetworkEnvironment = .direct) {
        self.connectionBudget = ConnectionBudget(capacity: connectionBudget)
        // The engine is decided once, by `TransferEngine.choose` (which falls back when libcurl
        // cannot load); here it is only carried out.
        let loop = engine == .libcurl ? CurlEventLoop.shared : nil
        precondition(engine == .urlsession || loop != nil, "libcurl is not loadable here: pick the engine with TransferEngine.choose")
        curlTransport = loop.map { CurlBodyTransport(loop: $0, userAgent: userAgent, network: network) }
        self.engine = engine
        self.network = network
        // Room for every budgeted transfer plus the API calls beside them, so URLSession never
        // queues a request we already counted as running.
        let perHost = self.connectionBudget.capacity + 4
        lanes = (0..<Self.laneCount).map { SessionLane(index: $0, maxConnectionsPerHost: perHost) }
        self.userAgent = userAgent
    }

    deinit {
        for lane in lanes { lane.session.invalidateAndCancel() }
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

    /// `stream` for file bodies: over libcurl when it is the engine, else URLSession. The `Data` handed to `onData` may point into libcurl's read buffer: the
    /// consumer must be done with it when `onData` returns (write it, hash it, copy it).
    ///
    /// File bodies follow stricter rules than API answers, the same on both engines: the head
    /// must pass `FileBodyHead.check` before `onHead` sees it, arrive whole within
    /// `FileBodyHead.deadline`, and the body must keep above `ThroughputFloor`. (Not for API
    /// calls: Ollama's pull stream is rightly silent while the server hashes.)
    func streamBody(_ request: HTTPRequest, errorBodyLimit: Int = 64 << 10,
                    onHead: @escaping @Sendable (HTTPResponseHead) throws -> Void,
                    onData: @escaping @Sendable (Data) throws -> Void) async throws -> StreamResult {
        let checkedHead: @Sendable (HTTPResponseHead) throws -> Void = { head in
            try FileBodyHead.check(head)
            try onHead(head)
        }
        if let curlTransport {
            return try await curlTransport.stream(request, errorBodyLimit: errorBodyLimit, fileBody: true, onHead: checkedHead, onData: onData)
        }
        return try await stream(request, errorBodyLimit: errorBodyLimit, fileBody: true, onHead: checkedHead, onData: onData)
    }

    /// Sends a request and hands a 2xx body to `onData` as it arrives, in order, on one thread
    /// at a time. `onHead` sees the response first and may throw to refuse the body. Errors
    /// thrown by either callback cancel the transfer and are rethrown here.
    public func stream(_ request: HTTPRequest, errorBodyLimit: Int = 64 << 10,
                       onHead: @escaping @Sendable (HTTPResponseHead) throws -> Void,
                       onData: @escaping @Sendable (Data) throws -> Void) async throws -> StreamResult {
        try await stream(request, errorBodyLimit: errorBodyLimit, fileBody: false, onHead: onHead, onData: onData)
    }

    private func stream(_ request: HTTPRequest, errorBodyLimit: Int, fileBody: Bool,
                        onHead: @escaping @Sendable (HTTPResponseHead) throws -> Void,
                        onData: @escaping @Sendable (Data) throws -> Void) async throws -> StreamResult {
        guard let scheme = request.url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw TransferError.unsupportedURL(request.url.absoluteString)
        }
        // One engine for every request, so a proxy or a private authority applies to API calls
        // exactly as to file bodies.
        if let curlTransport, !fileBody {
            return try await curlTransport.stream(request, errorBodyLimit: errorBodyLimit, fileBody: false, onHead: onHead, onData: onData)
        }
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.httpBody = request.body
        urlRequest.timeoutInterval = request.idleTimeout
        urlRequest.setValue(userAgent, forHTTPHeaderField: "User-Agent")
        // Identity, so Content-Length and ranges count the bytes we store.
        urlRequest.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }

        let lane = lanes[turn.next() % lanes.count]
        let task = lane.session.dataTask(with: urlRequest)
        let taskBox = UncheckedBox(task)
        let watch = fileBody ? FileBodyWatch(request: request, clock: lane.delegate.consumerClock, task: taskBox) : nil
        let state = TaskState(request: request, errorBodyLimit: errorBodyLimit, watch: watch, onHead: onHead, onData: onData)
        lane.delegate.register(state, for: task)

        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                state.setContinuation(continuation)
                taskBox.value.resume()
                state.started()
            }
        } onCancel: {
            state.cancel(taskBox.value)
        }
    }
}

/// One URLSession and the delegate that routes its callbacks.
private struct SessionLane {
    let session: URLSession
    let delegate: SessionDelegate

    init(index: Int, maxConnectionsPerHost: Int) {
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
        queue.name = "modelpull.http.\(index)"
        delegate = SessionDelegate()
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
    }
}

/// Hands out 0, 1, 2, … to spread requests over the lanes.
private struct TurnCounter: Sendable {
    private let value = LockedValue(0)

    func next() -> Int {
        value.withLock { value in
            value &+= 1
            return value & Int.max
        }
    }
}

/// Accumulates a response body up to a limit.
private struct BodyCollector: Sendable {
    private let buffer = LockedValue(Data())
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func append(_ data: Data) throws {
        try buffer.withLock { buffer in
            guard buffer.count + data.count <= limit else { throw TransferError.responseTooLarge(limit: limit) }
            buffer.append(data)
        }
    }

    var data: Data { buffer.current }
}

/// Lets a non-Sendable Foundation object cross into a `@Sendable` closure where we know the
/// access is safe (URLSessionTask's resume/cancel are thread-safe).
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
