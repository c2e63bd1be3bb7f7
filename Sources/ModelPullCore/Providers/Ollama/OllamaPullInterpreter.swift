import Foundation

/// Reads Ollama's pull stream line by line and reports it through the job's `JobProgress`:
///
/// - `pulling manifest` → the starting message;
/// - a line with a `digest` → that layer's bytes (a layer already on disk counts as reused;
///   the same line repeated every 60 ms is dropped here, so it causes no events);
/// - `verifying sha256 digest` → `verifying` (Ollama then hashes in silence; the engine's
///   heartbeat and `OllamaPullSession`'s elapsed-time message cover it);
/// - `writing manifest`, `removing unused layers` → messages; `success` → done;
/// - `{"error": …}` → the failure it describes, even under HTTP 200.
///
/// Not thread-safe: `OllamaPullSession` serialises calls.
final class OllamaPullInterpreter {
    enum Phase: Equatable {
        case connecting, manifest, downloading, verifying, finishing, succeeded
    }

    private let progress: JobProgress
    private let failures: OllamaFailures
    private(set) var ledger = OllamaLayerLedger()
    private(set) var phase = Phase.connecting
    /// Ollama's last status text, for messages about a stream that broke.
    private(set) var lastStatus: String?
    /// The message the job shows for the current phase (restored after a stall warning).
    private(set) var message = ""

    /// What no Ollama sends, so that a broken or hostile server cannot grow memory without end
    /// or overflow byte counts: digests are `sha256:` and 64 hex digits, models have a handful
    /// of layers, and a layer of 256 TiB is no model's. Status texts are shown up to a length.
    static let maxDigestLength = 256
    static let maxLayers = 10_000
    static let maxLayerBytes: Int64 = 1 << 48
    static let maxStatusCharacters = 200

    init(progress: JobProgress, failures: OllamaFailures) {
        self.progress = progress
        self.failures = failures
    }

    /// Applies one line. Returns whether the pull moved (bytes grew, a layer or phase began),
    /// which is what stall detection watches. Throws the failure an error line reports.
    func apply(_ line: OllamaPullLine) throws(DownloadFailure) -> Bool {
        if let error = line.error, !error.isEmpty { throw failures.pullError(error) }
        let status = String((line.status ?? "").prefix(Self.maxStatusCharacters))
        if !status.isEmpty { lastStatus = status }
        if let digest = line.digest, !digest.isEmpty {
            let total = line.total ?? 0
            let completed = line.completed ?? 0
            guard digest.utf8.count <= Self.maxDigestLength else {
                throw failures.implausible("a layer digest of \(digest.utf8.count) bytes")
            }
            guard total <= Self.maxLayerBytes, completed <= Self.maxLayerBytes else {
                throw failures.implausible("a layer of \(max(total, completed)) bytes")
            }
            if ledger.layers[digest] == nil, ledger.count >= Self.maxLayers {
                throw failures.implausible("more than \(Self.maxLayers) layers")
            }
            return layer(digest, status: status, total: total, completed: completed)
        }
        switch status.lowercased() {
        case "":
            return false
        case "pulling manifest":
            return enter(.manifest, "Pulling manifest")
        case "verifying sha256 digest":
            finishLayers()
            guard phase != .verifying else { return false }
            phase = .verifying
            message = "Verifying sha256 digest: Ollama is hashing the new layers"
            progress.setStatus(.verifying, message)
            return true
        case "writing manifest":
            finishLayers()
            return enter(.finishing, "Writing manifest")
        case "success":
            finishLayers()
            phase = .succeeded
            return true
        default:
            // `removing unused layers` and whatever later versions add: say it, change nothing.
            show(Self.sentence(status))
            return false
        }
    }

    /// Ollama said `success`: the model is complete in its store.
    var succeeded: Bool { phase == .succeeded }

    /// Whether no bytes are expected right now (Ollama hashing or writing), so silence and
    /// standing still are normal rather than a stall.
    var isQuietPhase: Bool { phase == .verifying || phase == .finishing || phase == .succeeded }

    // MARK: Layers

    private func layer(_ digest: String, status: String, total: Int64, completed: Int64) -> Bool {
        let id = OllamaLayerLedger.shortName(digest)
        let declaredTotal = ledger.layers[digest]?.total
        let highest = ledger.layers[digest]?.completed ?? 0
        let change = ledger.observe(digest: digest, total: total, completed: completed)
        // Re-declaring an unchanged size would still wake the job's emitter: only when it changed.
        let resized = declaredTotal.map { $0 != max(0, total) } ?? false
        var text = status.isEmpty ? "Pulling \(id)" : Self.sentence(status)
        var moved: Bool
        switch change {
        case .appeared(let reused):
            // The total grows first, so the earlier layers' last bytes land on the larger total
            // (percent cannot go back, so a total that grows late would pin it high).
            progress.addFile(id, size: max(0, total))
            // Ollama pulls one layer at a time: a new digest means the earlier ones are done.
            for earlier in ledger.finishAll(except: digest) { progress.fileFinished(OllamaLayerLedger.shortName(earlier.digest)) }
            if reused {
                progress.reuse(id, bytes: total, fileComplete: true)
                text = "Already have \(id)"
            } else {
                if completed > 0 { progress.advance(id, completed: completed) }
                if total <= 0 { progress.fileFinished(id) }
            }
            moved = true
        case .advanced:
            if resized { progress.addFile(id, size: max(0, total)) }
            // Regaining bytes lost to a part restart is activity, but not news for the client.
            if completed > highest { progress.advance(id, completed: completed) }
            moved = true
        case .other:
            if resized { progress.addFile(id, size: max(0, total)) }
            moved = false
        case .unchanged:
            moved = false
        }
        // The status change goes out last, so its event already carries this layer's bytes.
        if phase != .downloading {
            phase = .downloading
            message = text
            progress.setStatus(.downloading, text)
            return true
        }
        if moved { show(text) }
        return moved
    }

    private func finishLayers() {
        for layer in ledger.finishAll() { progress.fileFinished(OllamaLayerLedger.shortName(layer.digest)) }
    }

    // MARK: Messages

    private func enter(_ next: Phase, _ text: String) -> Bool {
        let changed = phase != next
        phase = next
        show(text)
        return changed
    }

    private func show(_ text: String) {
        guard text != message else { return }
        message = text
        progress.setMessage(text)
    }

    /// "pulling 74701a8c35f6" → "Pulling 74701a8c35f6".
    static func sentence(_ status: String) -> String {
        guard let first = status.first else { return status }
        return first.uppercased() + status.dropFirst()
    }
}
