import Foundation
import ModelPullCore

/// `download_model`: the engine's job, held open while progress flows, answered `running` at the
/// call deadline (hosts give up on a tool call after about a minute) while the job goes on. The
/// same arguments again join the running job (single-flight) and wait for it.
enum MCPDownload {
    static func run(_ server: RPCServer, _ id: RequestID, _ arguments: JSONValue?, progressToken: JSONValue?) async throws -> JSONValue {
        guard case .mcp(let session) = server.configuration.dialect else { throw RPCError.methodNotFound("tools/call") }
        let request = try ModelsDownloadMethod.parse(arguments, for: server.engine.registry)
        let reporter = MCPProgressReporter(server: server, token: progressToken)
        let subscription: DownloadEngine.Subscription
        do {
            subscription = try await server.engine.submit(request) { reporter.report($0) }
        } catch {
            return MCPResult.failure(error)
        }
        if server.registry.register(subscription, for: id) {
            await server.engine.cancel(subscription)
        }
        let engine = server.engine
        let completion = Task { await engine.completion(of: subscription) }
        guard let done = await first(completion, orNilAfter: session.callSeconds) else {
            // No progress after the result, as MCP requires; the job goes on without this call.
            reporter.close()
            let job = await engine.list().first { $0.downloadId == subscription.downloadId }
            return running(subscription.downloadId, request: request, snapshot: job?.snapshot)
        }
        reporter.close()
        switch done.outcome {
        case .success(let result):
            let structured = WireEncoding.result(done, result)
            let text = "Downloaded \(done.model) to \(result.path): \(result.files.count) file(s), "
                + "\(ByteFormat.string(result.bytesDownloaded)) transferred, \(ByteFormat.string(result.bytesReused)) reused, "
                + "\(String(format: "%.1f", done.seconds)) s."
            return MCPResult.tool(text: text, structured: structured)
        case .failure(let failure):
            return MCPResult.failure(failure, downloadId: done.downloadId)
        }
    }

    private static func running(_ downloadId: String, request: DownloadRequest, snapshot: ProgressSnapshot?) -> JSONValue {
        var structured: JSONObject = [
            "status": "running", "downloadId": .string(downloadId),
            "provider": .string(request.provider), "model": .string(request.modelForDisplay),
        ]
        var so = "Still downloading \(request.modelForDisplay)"
        if let snapshot {
            structured["downloadedBytes"] = .integer(snapshot.downloadedBytes)
            if let total = snapshot.totalBytes {
                structured["totalBytes"] = .integer(total)
                so += " (\(ByteFormat.string(snapshot.downloadedBytes)) of \(ByteFormat.string(total)))"
            }
            if let percent = snapshot.percent { structured["percent"] = .double(WireEncoding.percentFigure(percent)) }
        }
        let text = so + ". It goes on in the background: call download_model again with the same arguments to wait for it, "
            + "list_downloads to see it, or cancel_download with downloadId \(downloadId) to stop it."
        structured["message"] = .string(text)
        return MCPResult.tool(text: text, structured: .object(structured))
    }

    /// The task's value, or nil when `seconds` pass first (the task goes on).
    private static func first<T: Sendable>(_ task: Task<T, Never>, orNilAfter seconds: Double) async -> T? {
        let gate = OnceGate()
        return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let timer = Task {
                try? await Task.sleep(for: .seconds(seconds))
                if gate.open() { continuation.resume(returning: nil) }
            }
            Task {
                let value = await task.value
                timer.cancel()
                if gate.open() { continuation.resume(returning: value) }
            }
        }
    }
}

/// Lets exactly one of several racers through.
private struct OnceGate: Sendable {
    private let opened = LockedValue(false)

    func open() -> Bool {
        opened.withLock { opened in
            defer { opened = true }
            return !opened
        }
    }
}

/// Sends `notifications/progress` for one call that asked for it (`_meta.progressToken`):
/// `progress` in bytes and strictly increasing, `total` when known, at most four a second, a
/// message a person would write, and nothing once the call has its result.
final class MCPProgressReporter: Sendable {
    static let minimumInterval = 0.25
    private struct State {
        var lastProgress: Int64 = -1
        var lastSent = 0.0
        var closed = false
    }
    private let server: RPCServer
    private let token: JSONValue?
    private let state = LockedValue(State())

    init(server: RPCServer, token: JSONValue?) {
        self.server = server
        self.token = token
    }

    func report(_ snapshot: ProgressSnapshot) {
        guard let token, !snapshot.status.isTerminal else { return }
        state.withLock { state in
            let now = monotonicSeconds()
            guard !state.closed, snapshot.downloadedBytes > state.lastProgress,
                  state.lastProgress < 0 || now - state.lastSent >= Self.minimumInterval else { return }
            state.lastProgress = snapshot.downloadedBytes
            state.lastSent = now
            var params: JSONObject = ["progressToken": token, "progress": .integer(snapshot.downloadedBytes),
                                      "message": .string(Self.message(snapshot))]
            if let total = snapshot.totalBytes, total >= snapshot.downloadedBytes { params["total"] = .integer(total) }
            // Sent under the lock: `close` cannot slip between the check and the send.
            server.notify("notifications/progress", params: .object(params))
        }
    }

    func close() {
        state.withLock { $0.closed = true }
    }

    /// "Downloading model.safetensors — 1.2 GB of 4.0 GB, 85 MB/s, 40 s left".
    static func message(_ snapshot: ProgressSnapshot) -> String {
        guard snapshot.status == .downloading, let file = snapshot.file else { return snapshot.message }
        var figures: [String] = []
        if let total = snapshot.totalBytes {
            figures.append("\(ByteFormat.string(snapshot.downloadedBytes)) of \(ByteFormat.string(total))")
        } else {
            figures.append(ByteFormat.string(snapshot.downloadedBytes))
        }
        if let speed = snapshot.bytesPerSecond, speed > 0 { figures.append("\(ByteFormat.string(Int64(speed)))/s") }
        if let eta = snapshot.etaSeconds, eta.isFinite { figures.append("\(Int(eta.rounded())) s left") }
        return "Downloading \(file) — " + figures.joined(separator: ", ")
    }
}
