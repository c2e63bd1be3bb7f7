import Foundation
import ModelPullCore

/// One JSON-RPC session: decodes what the client sends, runs each request in its own task,
/// answers every request exactly once, and never answers a notification.
public final class RPCServer: @unchecked Sendable {
    let engine: DownloadEngine
    let output: MessageOutput
    let configuration: ServerConfiguration
    let log: LogSink
    let registry = RequestRegistry()
    private let parser = JSONParser()
    private let writer = JSONWriter()
    /// Whether the session stops taking work, and whether its end has begun.
    private let ending = LockedValue((shuttingDown: false, exitRequested: false))
    private let onExit: @Sendable (Int32) -> Void

    /// `onExit` is called once, after the last answer was queued, when the session ends (stdin
    /// EOF, a signal, or the `exit` notification).
    public init(engine: DownloadEngine, output: MessageOutput, configuration: ServerConfiguration,
                log: LogSink, onExit: @escaping @Sendable (Int32) -> Void) {
        self.engine = engine
        self.output = output
        self.configuration = configuration
        self.log = log
        self.onExit = onExit
    }

    // MARK: Input

    /// Handles one event from the framer. Called on the reader thread; returns quickly.
    public func receive(_ event: FramerEvent) {
        switch event {
        case .message(let body):
            receive(body: body)
        case .oversized(let size):
            log(.warning, "discarded an input message of \(size) bytes (over the limit)")
            reply(id: nil, error: .invalidRequest("message of \(size) bytes exceeds the 16 MiB limit and was discarded",
                                                  reason: "oversized"))
        case .malformedHeader(let what):
            reply(id: nil, error: .parseError("bad LSP header: \(what)"))
        }
    }

    private func receive(body: [UInt8]) {
        let value: JSONValue
        do {
            value = try parser.parse(body)
        } catch {
            reply(id: nil, error: .parseError(error.message))
            return
        }
        switch IncomingMessage(value) {
        case .request(let id, let method, let params):
            startRequest(id: id, method: method, params: params)
        case .notification(let method, let params):
            handleNotification(method: method, params: params)
        case .response:
            log(.debug, "ignored a response from the client: this server sends no requests")
        case .invalid(let id, let error):
            reply(id: id, error: error)
        }
    }

    private func startRequest(id: RequestID, method: String, params: JSONValue?) {
        guard registry.reserve(id) else {
            reply(id: nil, error: .invalidRequest("id \(id) is already used by a request in flight",
                                                  reason: "duplicate_id"))
            return
        }
        guard let handler = configuration.dialect.handler(for: method) else {
            reply(id: id, error: .methodNotFound(method))
            registry.finish(id)
            return
        }
        let task = Task { [self] in
            do {
                let result = try await handler(self, id, params)
                reply(id: id, result: result)
            } catch let error as RPCError {
                reply(id: id, error: error)
            } catch {
                reply(id: id, error: .internalError("\(error)"))
            }
            registry.finish(id)
        }
        registry.attach(task, to: id)
    }

    private func handleNotification(method: String, params: JSONValue?) {
        switch method {
        case "$/cancelRequest":
            if let raw = params?["id"], let id = RequestID(raw) { cancelRequest(id) }
        case "notifications/cancelled":
            guard let raw = params?["requestId"], let id = RequestID(raw) else { return }
            if !configuration.dialect.answersCancelledRequests { registry.silence(id) }
            cancelRequest(id)
        case "exit" where configuration.dialect.answersCancelledRequests:
            Task { await self.end(reason: "exit notification") }
        default:
            // Unknown notifications are ignored, as JSON-RPC and LSP require.
            log(.debug, "ignored notification '\(method)'")
        }
    }

    func cancelRequest(_ id: RequestID) {
        guard let subscription = registry.subscriptionToCancel(id) else { return }
        Task { await engine.cancel(subscription) }
    }

    // MARK: Ending

    var isShuttingDown: Bool {
        ending.current.shuttingDown
    }

    /// Stops new work and cancels running downloads; their requests are answered `cancelled`.
    func beginShutdown() async {
        ending.withLock { $0.shuttingDown = true }
        await engine.shutdown()
    }

    /// Ends the session: cancel everything, give in-flight requests a moment to answer, exit.
    /// Safe to call more than once (EOF and SIGTERM may both arrive).
    public func end(reason: String) async {
        let first = ending.withLock { state in
            defer { state.exitRequested = true }
            return !state.exitRequested
        }
        guard first else { return }
        log(.info, "ending session: \(reason)")
        await beginShutdown()
        let grace = configuration.shutdownGrace
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.registry.waitUntilIdle() }
            group.addTask { try? await Task.sleep(for: .seconds(grace)) }
            await group.next()
            group.cancelAll()
        }
        onExit(0)
    }

    // MARK: Output

    func reply(id: RequestID?, result: JSONValue) {
        if let id, registry.isSilenced(id) { return }
        let message: JSONObject = ["jsonrpc": "2.0", "id": id?.json ?? .null, "result": result]
        output.send(writer.encode(.object(message)), coalescingKey: nil)
    }

    func reply(id: RequestID?, error: RPCError) {
        if let id, registry.isSilenced(id) { return }
        let message: JSONObject = ["jsonrpc": "2.0", "id": id?.json ?? .null, "error": error.json]
        output.send(writer.encode(.object(message)), coalescingKey: nil)
    }

    func notify(_ method: String, params: JSONValue, coalescingKey: String? = nil) {
        let message: JSONObject = ["jsonrpc": "2.0", "method": .string(method), "params": params]
        output.send(writer.encode(.object(message)), coalescingKey: coalescingKey)
    }
}
