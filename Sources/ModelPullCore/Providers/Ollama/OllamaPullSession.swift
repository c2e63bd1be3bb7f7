import Foundation

/// One pull's moving parts behind one lock: URLSession's callbacks feed it the stream's bytes
/// (on the network thread) and the watchdog task ticks its clock.
final class OllamaPullSession: Sendable {
    /// Ollama's lines are a few hundred bytes; an error line quoting a registry body is a few
    /// KiB. Anything near this is not Ollama talking.
    static let maxLineBytes = 1 << 20
    /// How often the verifying message says how long Ollama has been hashing.
    static let verifyNoteEvery = 10

    private let state: LockedValue<PullState>

    init(progress: JobProgress, failures: OllamaFailures, stallSeconds: Double, now: Double = monotonicSeconds()) {
        state = LockedValue(PullState(progress: progress, failures: failures,
                                      interpreter: OllamaPullInterpreter(progress: progress, failures: failures),
                                      watch: OllamaStallWatch(limit: stallSeconds, now: now)))
    }

    // MARK: Fed by the stream

    func receiveHead() {
        state.withLock { $0.headArrived = true }
    }

    /// Bytes of the response body. Throws (which stops the transfer) on an error line, on
    /// something that is not Ollama's NDJSON, and on a runaway line.
    func receive(_ data: Data, now: Double = monotonicSeconds()) throws(DownloadFailure) {
        try state.withLock { (state) throws(DownloadFailure) in try state.receive(data, now: now) }
    }

    /// The body ended. A non-streaming answer is one JSON object without a newline after it.
    func finishStream(now: Double = monotonicSeconds()) throws(DownloadFailure) {
        try state.withLock { (state) throws(DownloadFailure) in
            if let line = state.buffer.finish() { try state.apply(line, now: now) }
        }
    }

    // MARK: Ticked by the watchdog

    /// Checks for a stall and refreshes the verifying message. Throws to end the pull.
    func tick(now: Double = monotonicSeconds()) throws(DownloadFailure) {
        try state.withLock { (state) throws(DownloadFailure) in try state.tick(now: now) }
    }

    // MARK: Outcome

    var hasHead: Bool { state.withLock { $0.headArrived } }
    var succeeded: Bool { state.withLock { $0.interpreter.succeeded } }
    var lastStatus: String? { state.withLock { $0.interpreter.lastStatus } }
    var ledger: OllamaLayerLedger { state.withLock { $0.interpreter.ledger } }
}

/// What one pull has heard and decided, touched only under the session's lock.
private struct PullState {
    let progress: JobProgress
    let failures: OllamaFailures
    let interpreter: OllamaPullInterpreter
    var buffer = NDJSONLineBuffer(maxLineBytes: OllamaPullSession.maxLineBytes)
    var watch: OllamaStallWatch
    var headArrived = false
    var verifyingSince: Double?
    var verifyNoteShown = 0

    init(progress: JobProgress, failures: OllamaFailures, interpreter: OllamaPullInterpreter, watch: OllamaStallWatch) {
        self.progress = progress
        self.failures = failures
        self.interpreter = interpreter
        self.watch = watch
    }

    mutating func receive(_ data: Data, now: Double) throws(DownloadFailure) {
        let lines: [Data]
        do {
            lines = try buffer.append(data)
        } catch {
            throw failures.lineTooLong(limit: error.limit)
        }
        for line in lines { try apply(line, now: now) }
    }

    mutating func tick(now: Double) throws(DownloadFailure) {
        switch watch.check(at: now, quiet: interpreter.isQuietPhase) {
        case .fine:
            break
        case .warn(let seconds):
            progress.setMessage("Stalled: Ollama reported no new bytes for \(seconds) s; giving up after \(OllamaFailures.seconds(2 * watch.limit)) without progress")
        case .fail(let seconds):
            guard headArrived else { throw failures.unreachable("no answer after \(seconds) s") }
            throw failures.stalled(seconds: seconds, limit: watch.limit)
        }
        noteVerifying(now: now)
    }

    mutating func apply(_ data: Data, now: Double) throws(DownloadFailure) {
        guard let line = OllamaPullLine.decode(data) else { throw failures.notOllama(data) }
        guard try interpreter.apply(line) else { return }
        if watch.activity(at: now) {
            // The stall warning is over: back to what the pull is doing.
            progress.setMessage(interpreter.message)
        }
    }

    /// Ollama hashes every new layer without a word, for minutes on big models. The engine's
    /// heartbeat keeps events coming; this says in the message that time is passing.
    private mutating func noteVerifying(now: Double) {
        guard interpreter.phase == .verifying else {
            verifyingSince = nil
            verifyNoteShown = 0
            return
        }
        let since = verifyingSince ?? now
        verifyingSince = since
        let elapsed = Int(now - since)
        guard elapsed >= verifyNoteShown + OllamaPullSession.verifyNoteEvery else { return }
        verifyNoteShown = elapsed - elapsed % OllamaPullSession.verifyNoteEvery
        progress.setMessage("Verifying sha256 digest: Ollama is hashing the new layers (\(verifyNoteShown) s so far)")
    }
}
