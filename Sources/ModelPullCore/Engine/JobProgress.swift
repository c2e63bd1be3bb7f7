import Foundation

/// Collects one job's progress from its provider (any thread) and turns it into snapshots that
/// obey the protocol's rules, fanned out to every attached request:
///
/// - the first event reaches a subscriber the moment it attaches, before bytes move;
/// - `downloadedBytes` and `percent` never decrease, even when totals grow or a range is re-sent;
/// - at most one event per `minimumInterval` while bytes flow, plus every status change;
/// - exactly one terminal event, after which nothing is emitted.
///
/// Emission happens under the lock so a late byte update on a network thread can never overtake
/// the terminal event on its way to the ordered writer. Observers must therefore be quick and
/// must not call back into this object (the RPC layer only enqueues a frame).
public final class JobProgress: Sendable {
    public typealias Observer = @Sendable (ProgressSnapshot) -> Void

    /// What replaces a secret in messages.
    public static let redacted = "[REDACTED]"

    private let ledger: LockedValue<Ledger>

    /// `clock` is monotonic seconds; tests pass their own to step time without sleeping.
    public init(downloadId: String, status: DownloadStatus, message: String,
                minimumInterval: Double = 0.1, heartbeatInterval: Double = 2.0,
                clock: @escaping @Sendable () -> Double = { monotonicSeconds() }) {
        ledger = LockedValue(Ledger(downloadId: downloadId, minimumInterval: minimumInterval,
                                    heartbeatInterval: heartbeatInterval, clock: clock, status: status, message: message))
    }

    // MARK: Subscribers

    /// Attaches an observer and sends it the current state at once (its first event).
    /// Returns false when the job already ended; the caller then reads the completion instead.
    @discardableResult
    public func attach(_ id: Int, _ observer: @escaping Observer) -> Bool {
        ledger.withLock { $0.attach(id, observer) }
    }

    /// Detaches one observer, giving it a terminal `cancelled` event of its own; the job goes on
    /// for the others.
    public func detach(_ id: Int, failure: DownloadFailure) {
        ledger.withLock { $0.detach(id, failure: failure) }
    }

    public var subscriberCount: Int { ledger.withLock { $0.observers.count } }

    // MARK: Secrets

    /// A credential that must never appear in what this job reports. Messages quote servers
    /// (an error page, Ollama's words), and a server may quote the credential back: every
    /// message, failure and detail that leaves the job is scrubbed of it. Values too short to
    /// be a credential are ignored (they would blank out ordinary words).
    public func addSecret(_ secret: String) { ledger.withLock { $0.addSecret(secret) } }

    /// `failure` without any secret in its message or details.
    public func redact(_ failure: DownloadFailure) -> DownloadFailure { ledger.withLock { $0.redact(failure) } }

    // MARK: Provider-facing updates

    /// A status change is always reported, immediately.
    public func setStatus(_ newStatus: DownloadStatus, _ newMessage: String) {
        ledger.withLock { $0.setStatus(newStatus, newMessage) }
    }

    /// A new human message without a status change (a stall warning, the next phase).
    public func setMessage(_ newMessage: String) { ledger.withLock { $0.setMessage(newMessage) } }

    /// A message every observer must see, sent at once rather than merged into the next
    /// report: a retry, a restart from zero, a resume the server confirmed. Rare by nature.
    public func announce(_ newMessage: String) { ledger.withLock { $0.announce(newMessage) } }

    /// Declares a file and its size when known; totals are the sum of declared sizes.
    public func addFile(_ name: String, size: Int64?) { ledger.withLock { $0.addFile(name, size: size) } }

    /// Bytes of `name` that were already on disk before this run (a reused file or a resumed
    /// partial). They count towards done bytes but not towards speed.
    public func reuse(_ name: String, bytes: Int64, fileComplete: Bool) {
        ledger.withLock { $0.reuse(name, bytes: bytes, fileComplete: fileComplete) }
    }

    /// How far `name` has come. Values are positions, not deltas, so a retried range that sends
    /// the same bytes again cannot inflate progress; only growth counts as network bytes.
    public func advance(_ name: String, completed: Int64) { ledger.withLock { $0.advance(name, completed: completed) } }

    public func fileFinished(_ name: String) { ledger.withLock { $0.fileFinished(name) } }

    /// Overrides the total when a provider knows it better than the sum of files (Ollama layers
    /// can be announced late). Totals may grow; percent still never goes back.
    public func setTotal(_ total: Int64?) { ledger.withLock { $0.setTotal(total) } }

    /// Called by the engine's ticker: sends what is pending, or a heartbeat when nothing has been
    /// said for a while, so clients with watchdogs see the job alive through silent phases.
    public func tick() { ledger.withLock { $0.tick() } }

    /// Sends the one terminal event and closes the job for good.
    public func finish(_ outcome: Result<DownloadResult, DownloadFailure>) { ledger.withLock { $0.finish(outcome) } }

    /// The latest state, for `downloads/list`.
    public func current() -> ProgressSnapshot { ledger.withLock { $0.current() } }

    public var bytesReusedSoFar: Int64 { ledger.withLock { $0.reusedBytes } }

    public var networkBytesSoFar: Int64 { ledger.withLock { $0.networkBytes } }
}

/// One job's progress as reported so far, and the rules that turn it into snapshots; reached
/// only under the `JobProgress` lock.
private struct Ledger {
    struct FileState {
        var size: Int64?
        var completed: Int64 = 0
        var done = false
    }

    let downloadId: String
    let minimumInterval: Double
    let heartbeatInterval: Double
    let clock: @Sendable () -> Double

    var observers: [Int: JobProgress.Observer] = [:]
    var status: DownloadStatus
    var message: String
    /// Keyed by exact bytes: two paths that are merely canonically equivalent are two files.
    var files: [ExactPath: FileState] = [:]
    var fileOrder: [ExactPath] = []
    var currentFile: String?
    var totalOverride: Int64?
    var reusedBytes: Int64 = 0
    var networkBytes: Int64 = 0
    var speed = SpeedMeter()
    var lastEmitted: ProgressSnapshot?
    var lastEmitTime: Double = 0
    var pending = false
    var closed = false
    var secrets: [String] = []

    /// Attaches an observer and sends it the current state at once (its first event).
    /// Returns false when the job already ended; the caller then reads the completion instead.
    mutating func attach(_ id: Int, _ observer: @escaping JobProgress.Observer) -> Bool {
        guard !closed else { return false }
        observers[id] = observer
        let now = clock()
        let snapshot = lastEmitted ?? makeSnapshot(now: now)
        if lastEmitted == nil {
            // The first subscriber's first event counts as an emission for throttling.
            lastEmitted = snapshot
            lastEmitTime = now
        }
        observer(snapshot)
        return true
    }

    /// Detaches one observer, giving it a terminal `cancelled` event of its own; the job goes on
    /// for the others.
    mutating func detach(_ id: Int, failure: DownloadFailure) {
        guard !closed, let observer = observers.removeValue(forKey: id) else { return }
        // Floored like every other event: a total that grew since must not pull percent back.
        var snapshot = makeSnapshot(now: clock(), floor: lastEmitted)
        let failure = scrub(failure)
        snapshot.status = .cancelled
        snapshot.message = failure.message
        snapshot.failure = failure
        snapshot.bytesPerSecond = nil
        snapshot.etaSeconds = nil
        observer(snapshot)
    }


    // MARK: Secrets

    /// A credential that must never appear in what this job reports. Messages quote servers
    /// (an error page, Ollama's words), and a server may quote the credential back: every
    /// message, failure and detail that leaves the job is scrubbed of it. Values too short to
    /// be a credential are ignored (they would blank out ordinary words).
    mutating func addSecret(_ secret: String) {
        for value in [secret, secret.trimmingCharacters(in: .whitespacesAndNewlines)]
        where value.count >= 6 && !secrets.contains(value) {
            secrets.append(value)
        }
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort { $0.count > $1.count }
    }

    /// `failure` without any secret in its message or details.
    func redact(_ failure: DownloadFailure) -> DownloadFailure {
        return scrub(failure)
    }

    private func scrub(_ text: String) -> String {
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: JobProgress.redacted)
        }
        return text
    }

    private func scrub(_ failure: DownloadFailure) -> DownloadFailure {
        guard !secrets.isEmpty else { return failure }
        var clean = failure
        clean.message = scrub(failure.message)
        for (key, value) in failure.details {
            switch value {
            case .string(let text): clean.details[key] = .string(scrub(text))
            case .strings(let texts): clean.details[key] = .strings(texts.map(scrub))
            case .int, .bool: break
            }
        }
        return clean
    }

    // MARK: Provider-facing updates

    /// A status change is always reported, immediately.
    mutating func setStatus(_ newStatus: DownloadStatus, _ newMessage: String) {
        precondition(!newStatus.isTerminal, "terminal statuses go through finish(_:)")
        update(forceEmit: true) { ledger in
            ledger.status = newStatus
            ledger.message = newMessage
        }
    }

    /// A new human message without a status change (a stall warning, the next phase).
    mutating func setMessage(_ newMessage: String) {
        update(forceEmit: false) { ledger in ledger.message = newMessage; ledger.pending = true }
    }

    /// A message every observer must see, sent at once rather than merged into the next
    /// report: a retry, a restart from zero, a resume the server confirmed. Rare by nature.
    mutating func announce(_ newMessage: String) {
        update(forceEmit: true) { ledger in ledger.message = newMessage }
    }

    /// Declares a file and its size when known; totals are the sum of declared sizes.
    mutating func addFile(_ name: String, size: Int64?) {
        update(forceEmit: false) { ledger in
            let id = ExactPath(name)
            if ledger.files[id] == nil { ledger.fileOrder.append(id) }
            ledger.files[id, default: FileState()].size = size
            ledger.pending = true
        }
    }

    /// Bytes of `id` that were already on disk before this run (a reused file or a resumed
    /// partial). They count towards done bytes but not towards speed.
    mutating func reuse(_ name: String, bytes: Int64, fileComplete: Bool) {
        update(forceEmit: false) { ledger in
            let id = ExactPath(name)
            var state = ledger.files[id, default: FileState()]
            if ledger.files[id] == nil { ledger.fileOrder.append(id) }
            let gained = max(0, bytes - state.completed)
            state.completed += gained
            ledger.reusedBytes += gained
            if fileComplete { state.done = true }
            ledger.files[id] = state
            ledger.pending = true
        }
    }

    /// How far `id` has come. Values are positions, not deltas, so a retried range that sends the
    /// same bytes again cannot inflate progress; only growth counts as network bytes.
    mutating func advance(_ name: String, completed: Int64) {
        update(forceEmit: false) { ledger in
            let id = ExactPath(name)
            var state = ledger.files[id, default: FileState()]
            if ledger.files[id] == nil { ledger.fileOrder.append(id) }
            let gained = completed - state.completed
            if gained > 0 {
                state.completed = completed
                ledger.networkBytes += gained
                ledger.speed.record(totalBytes: ledger.networkBytes, at: ledger.clock())
            }
            ledger.files[id] = state
            ledger.currentFile = name
            ledger.pending = true
        }
    }

    mutating func fileFinished(_ name: String) {
        update(forceEmit: false) { ledger in
            let id = ExactPath(name)
            guard var state = ledger.files[id] else { return }
            state.done = true
            if let size = state.size { state.completed = max(state.completed, size) }
            ledger.files[id] = state
            ledger.pending = true
        }
    }

    /// Overrides the total when a provider knows it better than the sum of files (Ollama layers
    /// can be announced late). Totals may grow; percent still never goes back.
    mutating func setTotal(_ total: Int64?) {
        update(forceEmit: false) { ledger in ledger.totalOverride = total; ledger.pending = true }
    }

    /// Called by the engine's ticker: sends what is pending, or a heartbeat when nothing has been
    /// said for a while, so clients with watchdogs see the job alive through silent phases.
    mutating func tick() {
        guard !closed else { return }
        let now = clock()
        if pending || now - lastEmitTime >= heartbeatInterval {
            emit(now: now)
        }
    }

    /// Sends the one terminal event and closes the job for good.
    mutating func finish(_ outcome: Result<DownloadResult, DownloadFailure>) {
        guard !closed else { return }
        // Floored like every other event: a total that grew since must not pull percent back.
        var snapshot = makeSnapshot(now: clock(), floor: lastEmitted)
        snapshot.bytesPerSecond = nil
        snapshot.etaSeconds = nil
        switch outcome {
        case .success:
            snapshot.status = .complete
            snapshot.message = "Download complete"
            if let total = snapshot.totalBytes { snapshot.downloadedBytes = max(snapshot.downloadedBytes, total) }
            snapshot.percent = 100
            snapshot.file = nil
            if let total = snapshot.filesTotal { snapshot.filesDone = total }
        case .failure(let failure):
            let failure = scrub(failure)
            snapshot.status = failure.kind == .cancelled ? .cancelled : .error
            snapshot.message = failure.message
            snapshot.failure = failure
        }
        for observer in observers.values { observer(snapshot) }
        observers.removeAll()
        lastEmitted = snapshot
        closed = true
    }

    /// The latest state, for `downloads/list`.
    func current() -> ProgressSnapshot {
        if closed, let last = lastEmitted { return last }
        return makeSnapshot(now: clock(), floor: lastEmitted)
    }


    // MARK: Internals (called with the lock held)

    private mutating func update(forceEmit: Bool, _ change: (inout Ledger) -> Void) {
        guard !closed else { return }
        change(&self)
        let now = clock()
        if forceEmit || now - lastEmitTime >= minimumInterval {
            emit(now: now)
        } else {
            pending = true
        }
    }

    private mutating func emit(now: Double) {
        let snapshot = makeSnapshot(now: now, floor: lastEmitted)
        for observer in observers.values { observer(snapshot) }
        lastEmitted = snapshot
        lastEmitTime = now
        pending = false
    }

    private static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b < 0 ? .min : .max) : sum
    }

    private func makeSnapshot(now: Double, floor: ProgressSnapshot? = nil) -> ProgressSnapshot {
        let declaredSizes = files.values.compactMap(\.size)
        // Saturating: sizes come from servers, and no provider's mistake may trap the process.
        let sumOfSizes: Int64? = declaredSizes.count == files.count && !files.isEmpty
            ? declaredSizes.reduce(0, Self.saturatingSum) : nil
        let total = totalOverride ?? sumOfSizes
        var done = files.values.reduce(Int64(0)) { Self.saturatingSum($0, min($1.completed, $1.size ?? $1.completed)) }
        if let previous = floor?.downloadedBytes { done = max(done, previous) }

        var percent: Double?
        if let total, total > 0 {
            percent = min(100, Double(done) / Double(total) * 100)
            if let previous = floor?.percent { percent = max(percent!, previous) }
        } else if let previous = floor?.percent {
            percent = previous
        }

        let rate = speed.bytesPerSecond(at: now)
        var eta: Double?
        if let rate, rate > 0, let total, total >= done {
            eta = Double(total - done) / rate
        }
        return ProgressSnapshot(
            downloadId: downloadId, status: status, message: scrub(message), percent: percent,
            downloadedBytes: done, totalBytes: total, bytesPerSecond: rate.map { max(0, $0) },
            etaSeconds: eta, file: currentFile,
            filesDone: files.isEmpty ? nil : files.values.filter(\.done).count,
            filesTotal: files.isEmpty ? nil : files.count)
    }
}
