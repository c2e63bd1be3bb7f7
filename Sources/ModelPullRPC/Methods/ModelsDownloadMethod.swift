import ModelPullCore

/// `models/download`: a long request. Progress goes out as `downloads/progress` notifications;
/// the answer comes when the job ends, after its terminal notification.
enum ModelsDownloadMethod {
    static func handle(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        let request = try parse(params, for: server.engine.registry)
        let stream = ProgressStream(server: server, requestId: id)
        let subscription: DownloadEngine.Subscription
        do {
            subscription = try await server.engine.submit(request) { stream.send($0) }
        } catch {
            throw RPCError.application(error, provider: request.provider, model: request.modelForDisplay)
        }
        if server.registry.register(subscription, for: id) {
            await server.engine.cancel(subscription)
        }
        let completion = await server.engine.completion(of: subscription)
        switch completion.outcome {
        case .success(let result):
            return WireEncoding.result(completion, result)
        case .failure(let failure):
            throw RPCError.application(failure, downloadId: completion.downloadId,
                                       provider: request.provider, model: request.modelForDisplay)
        }
    }

    /// The request, checked for types, values, and parameters its provider reads; every problem
    /// is -32602 naming the field. Shared with MCP's `download_model`.
    static func parse(_ params: JSONValue?, for registry: ProviderRegistry) throws(RPCError) -> DownloadRequest {
        var reader = try ParamsReader(params)
        let provider = try reader.requiredString("provider")
        let model = try reader.requiredString("model")
        var request = DownloadRequest(provider: provider, model: model)
        request.revision = try reader.string("revision")
        request.include = try reader.strings("include") ?? []
        request.exclude = try reader.strings("exclude") ?? []
        request.token = try reader.string("token")
        request.baseURL = try reader.string("baseUrl")
        request.cacheDir = try reader.string("cacheDir")
        request.localDir = try reader.string("localDir")
        request.connections = try reader.integer("connections", in: 1...64).map(Int.init)
        request.sha256 = try reader.string("sha256")
        request.fileName = try reader.string("fileName")
        request.stallSeconds = try reader.positiveNumber("stallSeconds")
        request.insecure = try reader.bool("insecure") ?? false
        request.source = try reader.string("source")
        try reader.rejectUnknownFields()
        do {
            try request.checkParameters()
            try registry.checkApplicable(request)
        } catch {
            throw .invalidParams(error)
        }
        return request
    }
}

/// Sends one request's view of a job as `downloads/progress`. Notifications of one status may
/// be coalesced by the writer when the client reads slowly; a status change starts a new
/// coalescing key so it is never merged with what came before it (order and monotonicity hold).
final class ProgressStream: @unchecked Sendable {
    private let server: RPCServer
    private let requestId: RequestID
    private var lastStatus: DownloadStatus?
    private var epoch = 0

    init(server: RPCServer, requestId: RequestID) {
        self.server = server
        self.requestId = requestId
    }

    /// Called by `JobProgress` under its lock, so calls never overlap.
    func send(_ snapshot: ProgressSnapshot) {
        if snapshot.status != lastStatus {
            epoch += 1
            lastStatus = snapshot.status
        }
        let key = snapshot.status.isTerminal ? nil : "progress:\(requestId):\(epoch)"
        server.notify("downloads/progress", params: WireEncoding.progress(snapshot, requestId: requestId),
                      coalescingKey: key)
    }
}
