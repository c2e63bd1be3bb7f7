import Foundation

/// One `POST /api/pull` from request to result: streams Ollama's NDJSON into an
/// `OllamaPullSession` while a watchdog ticks its stall clock, then decides how it ended.
///
/// Cancelling the job's task closes the request. Ollama then stops the layer download unless
/// another client waits on the same layer; what it has stays in its store for the next pull.
struct OllamaPull {
    static let defaultStallSeconds = 60.0

    let api: OllamaAPI
    let request: DownloadRequest
    let context: DownloadContext

    private var failures: OllamaFailures { OllamaFailures(model: request.model, endpoint: api.endpoint) }

    func run() async throws -> DownloadResult {
        let progress = context.progress
        let stallSeconds = request.stallSeconds ?? Self.defaultStallSeconds
        guard let pullRequest = api.pullRequest(model: request.model, insecure: request.insecure,
                                                stallSeconds: stallSeconds) else {
            throw failures.unusableEndpoint()
        }
        progress.setMessage("Connecting to Ollama at \(api.endpoint)")
        context.log(.info, "ollama: pulling \(request.model) from \(api.endpoint)")
        let session = OllamaPullSession(progress: progress, failures: failures, stallSeconds: stallSeconds)

        let outcome: HTTPClient.StreamResult
        do {
            // A few ticks per stall period, but never a busy loop for a tiny `stallSeconds`.
            outcome = try await stream(pullRequest, into: session, tickEvery: min(1, max(0.05, stallSeconds / 4)))
        } catch {
            // Ollama said `success` and the connection then broke: the model is in its store.
            if session.succeeded, !Task.isCancelled, error is TransferError { return await result(session.ledger) }
            throw failure(for: error, session: session)
        }
        guard outcome.head.isSuccess else {
            throw failures.httpError(status: outcome.head.status, body: outcome.errorBody)
        }
        try session.finishStream()
        guard session.succeeded else { throw failures.endedWithoutSuccess(lastStatus: session.lastStatus) }
        return await result(session.ledger)
    }

    /// Runs the transfer and the watchdog side by side; whichever ends first ends both (the
    /// watchdog only ever ends by throwing a stall).
    private func stream(_ pullRequest: HTTPRequest, into session: OllamaPullSession,
                        tickEvery interval: Double) async throws -> HTTPClient.StreamResult {
        let http = api.http
        return try await withThrowingTaskGroup(of: HTTPClient.StreamResult?.self) { group in
            group.addTask {
                try await http.stream(pullRequest, onHead: { _ in session.receiveHead() },
                                      onData: { try session.receive($0) })
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .seconds(interval))
                    try session.tick()
                }
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let result = next { return result }
            }
            throw CancellationError()
        }
    }

    /// What a thrown error means for this pull.
    private func failure(for error: any Error, session: OllamaPullSession) -> DownloadFailure {
        if Task.isCancelled { return failures.cancelled() }
        switch error {
        case let failure as DownloadFailure:
            return failure
        case let transfer as TransferError where session.hasHead:
            return failures.streamBroken(OllamaAPI.describe(transfer), lastStatus: session.lastStatus)
        case let transfer as TransferError:
            return transfer.settingsFailure ?? failures.unreachable(OllamaAPI.describe(transfer))
        case is CancellationError:
            return failures.cancelled()
        default:
            return failures.streamBroken("\(error)", lastStatus: session.lastStatus)
        }
    }

    private func result(_ ledger: OllamaLayerLedger) async -> DownloadResult {
        let reported = await api.modelsDirectory(of: request.model)
        // The store a server started by this user would use, read as Ollama reads it.
        let path = reported ?? OllamaStore(environment: context.environment).root
        let summary: String
        if ledger.count == 0 {
            summary = "\(request.model) is ready in Ollama at \(api.endpoint) (the server reported no layer progress)"
        } else {
            summary = "\(request.model) is ready in Ollama at \(api.endpoint): \(ledger.count) layer(s), "
                + "\(ByteFormat.string(ledger.totalBytes)), \(ByteFormat.string(ledger.bytesReused)) of it already present"
        }
        return DownloadResult(path: path, revision: nil, files: ledger.files,
                              bytesDownloaded: ledger.bytesDownloaded, bytesReused: ledger.bytesReused,
                              message: reported == nil ? summary + "; path is the default models folder, the server did not say its own" : summary)
    }
}
