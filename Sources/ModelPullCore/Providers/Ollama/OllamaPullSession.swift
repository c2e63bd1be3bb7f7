import Foundation

/// One pull's moving parts behind one lock: URLSession's callbacks feed it the stream's bytes
/// (on the network thread) and the watchdog task ticks its clock.
final class OllamaPullSession: @unchecked Sendable {
    /// Ollama's lines are a few hundred bytes; an error line quoting a registry body is a few
    /// KiB. Anything near this is not Ollama talking.
    static let maxLineBytes = 1 << 20
    /// How often the verifying message says how long Ollama has been hashing.
    static let verifyNoteEvery = 10

    private let lock = NSLock()
    private let progress: JobProgress
    private let failures: OllamaFailures
    private let interpreter: OllamaPullInterpreter
    private var buffer = NDJSONLineBuffer(maxLineBytes: OllamaPullSession.maxLineBytes)
    private var watch: OllamaStallWatch
    private var headArrived = false
    private var verifyingSince: Double?
    private var verifyNoteShown = 0

    init(progress: JobProgress, failures: OllamaFailures, stallSeconds: Double, now: Double = monotonicSeconds()) {
        self.progress = progress
        self.failures = failures
        self.interpreter = OllamaPullInterpreter(progress: progress, failures: failures)
        self.watch = OllamaStallWatch(limit: stallSeconds, now: now)
    }

    // MARK: Fed by the stream

    func receiveHead() {
        locked { headArrived = true }
    }

    /// Bytes of the response body. Throws (which stops the transfer) on an error line, on
    /// something that is not Ollama's NDJSON, and on a runaway line.
    func receive(_ data: Data, now: Double = monotonicSeconds()) throws(DownloadFailure) {
        lock.lock(); defer { lock.unlock() }
        let lines: [Data]
        do {
            lines = try buffer.append(data)
        } catch {
            throw failures.lineTooLong(limit: error.limit)
        }
        for line in lines { try apply(line, now: now) }
    }

    /// The body ended. A non-streaming answer is one JSON object without a newline after it.
    func finishStream(now: Double = monotonicSeconds()) throws(DownloadFailure) {
        lock.lock(); defer { lock.unlock() }
        if let line = buffer.finish() { try apply(line, now: now) }
    }

    // MARK: Ticked by the watchdog

    /// Checks for a stall and refreshes the verifying message. Throws to end the pull.
    func tick(now: Double = monotonicSeconds()) throws(DownloadFailure) {
        lock.lock(); defer { lock.unlock() }
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

    // MARK: Outcome

    var hasHead: Bool { locked { headArrived } }
    var succeeded: Bool { locked { interpreter.succeeded } }
    var lastStatus: String? { locked { interpreter.lastStatus } }
    var ledger: OllamaLayerLedger { locked { interpreter.ledger } }

    // MARK: Internals (lock held)

    private func apply(_ data: Data, now: Double) throws(DownloadFailure) {
        guard let line = OllamaPullLine.decode(data) else { throw failures.notOllama(data) }
        guard try interpreter.apply(line) else { return }
        if watch.activity(at: now) {
            // The stall warning is over: back to what the pull is doing.
            progress.setMessage(interpreter.message)
        }
    }

    /// Ollama hashes every new layer without a word, for minutes on big models. The engine's
    /// heartbeat keeps events coming; this says in the message that time is passing.
    private func noteVerifying(now: Double) {
        guard interpreter.phase == .verifying else {
            verifyingSince = nil
            verifyNoteShown = 0
            return
        }
        let since = verifyingSince ?? now
        verifyingSince = since
        let elapsed = Int(now - since)
        guard elapsed >= verifyNoteShown + Self.verifyNoteEvery else { return }
        verifyNoteShown = elapsed - elapsed % Self.verifyNoteEvery
        progress.setMessage("Verifying sha256 digest: Ollama is hashing the new layers (\(verifyNoteShown) s so far)")
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        return body()
    }
}
