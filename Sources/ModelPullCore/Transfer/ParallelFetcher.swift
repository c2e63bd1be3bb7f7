import Foundation

/// Downloads one file over several connections at once: the missing bytes are cut into pieces
/// of at most `pieceSize` (so even URLSession, the fallback engine, never buffers more than that
/// per connection, however slow the disk), each fetched with a ranged GET and written at its offset, each connection
/// taken from the process-wide `ConnectionBudget` per piece. Drops, stalls, short bodies and
/// 408/429/5xx are retried per piece from the byte reached; the finished ranges are recorded in
/// a `RangeLedger` so a killed process resumes all of them.
///
/// When the size is not known yet (a plain URL), the first piece's response reveals it and the
/// other connections start then. A server that ignores ranges or a changed remote file is
/// reported as a `RangeFetchObstacle` before anything is written, for the caller to start over.
struct ParallelFetcher: Sendable {
    let http: HTTPClient
    let retry: RetryPolicy
    let tuning: TransferTuning

    struct Target: Sendable {
        var source: FetchSource
        var file: PartialFile
        /// Ranges already on disk from an earlier run; nil when the size is not known yet.
        var resumed: RangeRecord?
        var connections: Int
        var hasher: FrontierHasher?
    }

    struct Report: Sendable {
        var size: Int64
        var etag: String?
        var lastModified: String?
        /// The strong validator every piece was conditional on, once one was known.
        var validator: String?
        /// Bytes this run put on disk (the network bytes).
        var transferred: Int64
    }

    /// Tells `observer` the file's identity before any byte is written (`started`, which may
    /// throw: disk space), the bytes on disk a few times a second, and each retry.
    func fetch(_ target: Target, observer: TransferObserver) async throws -> Report {
        let run = ParallelRun(target: target, tuning: tuning, onStart: observer.started)
        let wanted = max(1, target.connections)
        let ramp = ConnectionRamp(initial: tuning.initialConnections, limit: wanted)
        let workers = Worker(http: http, retry: retry, run: run, ramp: ramp, onRetry: observer.retrying)
        let housekeeper = Task { await run.housekeeping(onProgress: observer.progressed) }
        defer { housekeeper.cancel() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // The first connection also learns the size when nobody knew it; whatever
                    // happens to it, the others must not wait for that forever.
                    do { try await workers.work(admitted: true) } catch { run.size.resolve(.failure(error)); throw error }
                    run.size.resolve(.failure(CancellationError()))
                }
                let size = try await run.size.value()
                // Never more connections than pieces: a split is for the tail, not the start.
                // Beyond the first few, each waits for the ramp to admit it.
                for index in 1..<min(wanted, max(1, run.pieceCount(size: size))) {
                    let admitted = index < tuning.initialConnections
                    group.addTask { try await workers.work(admitted: admitted) }
                }
                try await group.waitForAll()
            }
            try Task.checkCancellation()
        } catch {
            await run.end(finished: false)
            throw error
        }
        let report = try await run.completeReport()
        observer.progressed(report.size)
        return report
    }
}

/// The shared state of one parallel fetch: plan, ledger, size, validators.
private final class ParallelRun: Sendable {
    let target: Target
    let tuning: TransferTuning
    /// Which validator every piece sends as `If-Range` once a response revealed one.
    let identity: RemoteIdentityWatch
    let size = OnceValue<Int64>()
    let planner: PiecePlanner
    /// The record of finished ranges, once the size is known, and the validators heard.
    private let state: LockedValue<(ledger: RangeLedger?, etag: String?, lastModified: String?)>
    private let resumedBytes: Int64

    typealias Target = ParallelFetcher.Target

    init(target: Target, tuning: TransferTuning, onStart: @escaping @Sendable (RemoteFileIdentity) throws -> Void) {
        self.target = target
        self.tuning = tuning
        identity = RemoteIdentityWatch(validator: target.resumed?.validator ?? target.source.validator, onStart: onStart)
        if let resumed = target.resumed {
            planner = PiecePlanner(missing: resumed.done.gaps(upTo: resumed.size), pieceSize: tuning.pieceSize,
                                   minimumSplit: tuning.minimumSplit, minimumStealSeconds: tuning.minimumStealSeconds)
            state = LockedValue((RangeLedger(file: target.file, record: resumed, flushInterval: tuning.flushInterval), nil, nil))
            resumedBytes = resumed.done.count
            target.hasher?.advance(to: resumed.done.prefixEnd)
            size.resolve(.success(resumed.size))
        } else {
            // One first request until its answer says how long the file is: a small file is then
            // fetched whole by it, a large one is split from there.
            planner = PiecePlanner(missing: [0..<tuning.parallelThreshold], pieceSize: tuning.pieceSize,
                                   minimumSplit: tuning.minimumSplit, firstPiece: tuning.parallelThreshold,
                                   minimumStealSeconds: tuning.minimumStealSeconds)
            state = LockedValue((nil, nil, nil))
            resumedBytes = 0
        }
    }

    var validator: String? { identity.validator }

    /// The record of finished ranges; nil until the first answer told the size.
    private var ledger: RangeLedger? { state.current.ledger }

    func pieceCount(size: Int64) -> Int {
        let missing: [Range<Int64>] = ledger?.done.gaps(upTo: size) ?? [0..<size]
        var pieces = 0
        for gap in missing {
            let length: Int64 = gap.upperBound - gap.lowerBound
            pieces += Int((length + tuning.pieceSize - 1) / tuning.pieceSize)
        }
        return pieces
    }

    /// A checked range answer's head, before its body: tells the caller the file's identity
    /// (first time), learns the size (first time), remembers the validators.
    func learned(total: Int64, head: HTTPResponseHead, cursor: PieceCursor) throws {
        state.withLock { state in
            state.etag = state.etag ?? head.headers["ETag"]
            state.lastModified = state.lastModified ?? head.headers["Last-Modified"]
        }
        try identity.heard(head, size: total, restartsFile: false)
        if let ledger {
            ledger.adopt(validator: identity.validator)
            return
        }
        cursor.clip(to: total)
        if total > tuning.parallelThreshold { planner.add(tuning.parallelThreshold..<total) }
        let record = RangeRecord(size: total, validator: identity.validator, done: ByteRangeSet())
        // Before the first byte: a partial with ranges but no record would pass for a prefix.
        try record.store(partialPath: target.file.path)
        state.withLock { $0.ledger = RangeLedger(file: target.file, record: record, flushInterval: tuning.flushInterval) }
        size.resolve(.success(total))
    }

    func finished(_ cursor: PieceCursor) {
        if let ledger {
            let prefix = ledger.markDone(cursor.start..<cursor.end)
            target.hasher?.advance(to: prefix)
        }
        planner.retire(cursor)
    }

    var bytesOnDisk: Int64 { resumedBytes + planner.writtenBytes }

    /// Records and reports progress a few times a second, and flushes now and then, until
    /// cancelled. The record is written first, so any byte a client hears about is resumable.
    func housekeeping(onProgress: @escaping @Sendable (Int64) -> Void) async {
        while !Task.isCancelled {
            let bytes = bytesOnDisk
            if let ledger {
                ledger.store(inFlight: planner.inFlightRanges)
                ledger.flushSoon()
            }
            onProgress(bytes)
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The fetch ended: keeps the record of what is on disk unless every byte is there.
    func end(finished: Bool) async {
        if !size.isResolved { size.resolve(.failure(CancellationError())) }
        await ledger?.close(persisting: finished ? nil : planner.inFlightRanges)
    }

    func completeReport() async throws -> ParallelFetcher.Report {
        let total = try await size.value()
        let done = ledger?.done ?? ByteRangeSet()
        guard done.gaps(upTo: total).isEmpty else {
            await end(finished: false)
            throw DownloadFailure(.network, "The download of \(target.source.url.lastPathComponent) ended with bytes missing; retry to resume.")
        }
        await end(finished: true)
        let (_, etag, lastModified) = state.current
        return .init(size: total, etag: etag, lastModified: lastModified, validator: identity.validator,
                     transferred: planner.writtenBytes)
    }
}

/// One connection's loop: take a slot, take a piece, fetch it (retrying from the byte reached),
/// give the slot back; until no piece is left.
private struct Worker: Sendable {
    let http: HTTPClient
    let retry: RetryPolicy
    let run: ParallelRun
    let ramp: ConnectionRamp
    let onRetry: @Sendable (String) -> Void

    private var budget: ConnectionBudget { http.connectionBudget }
    /// How often an idle connection looks again at a tail in flight, for a piece fallen behind:
    /// the download ends only when every connection has looked once more, so this is short
    /// (a quarter second cost ~0.2 s per 512 MiB file in Benchmarks/run.sh); a look is a lock.
    static let tailWatchInterval = 0.02
    /// The download this worker's connections count for (bound by the engine around the job).
    private let owner = ConnectionBudget.owner

    func work(admitted: Bool) async throws {
        if !admitted { try await ramp.admission() }
        while true {
            try Task.checkCancellation()
            try await budget.acquire(for: owner)
            let slot = SlotHolder(budget, owner: owner)
            defer { slot.release() }
            let cursor: PieceCursor
            switch run.planner.next() {
            case .piece(let piece):
                cursor = piece
            case .later:
                // The tail is in flight and on pace; watch it without holding a slot.
                slot.release()
                try await Task.sleep(for: .seconds(Self.tailWatchInterval))
                continue
            case .none:
                // Nothing left to start: connections still waiting to be admitted can go.
                ramp.admitAll()
                return
            }
            try await fetch(cursor, slot: slot)
            run.finished(cursor)
            guard ramp.pieceArrived(bytes: cursor.end - cursor.start) else { return }
        }
    }

    private func fetch(_ cursor: PieceCursor, slot: SlotHolder) async throws {
        let source = run.target.source
        var failures = ConsecutiveFailures(retry)
        while !cursor.isFinished {
            let before = cursor.position
            let total = run.size.isResolved ? try await run.size.value() : nil
            let request = PieceRequest(http: http, url: source.url, headers: source.headers, validator: run.validator,
                                       idleTimeout: source.idleTimeout, file: run.target.file,
                                       expectedTotal: total ?? source.expectedSize,
                                       totalIsListed: source.expectedSize != nil,
                                       shouldYield: { [budget, owner] in budget.shouldYield(owner) })
            var failure: String
            var wait: Double?
            var countsProgress = true
            do {
                let run = self.run
                switch try await request.run(cursor, onTotal: { try run.learned(total: $0, head: $1, cursor: cursor) }) {
                case .yielded:
                    // Another download waits with fewer connections: queue again behind it.
                    slot.release()
                    try await slot.reacquire()
                    continue
                case .delivered(let received, let promised, _, _):
                    if cursor.isFinished { return }
                    guard received < promised else { failures.reset(); continue }  // a shorter range than asked
                    failure = "the server sent \(received) of \(promised) bytes"
                case .status(let head, let body):
                    if head.status == 416 {
                        throw DownloadFailure(.integrity,
                            "The server refused a range of \(source.url.lastPathComponent) (416): the remote file is shorter than expected. Retry to fetch it again.",
                            retryable: true)
                    }
                    guard RetryPolicy.isRetryable(status: head.status), !failures.isLastAttempt else {
                        throw HTTPStatusError(head: head, body: body)
                    }
                    failure = "the server answered HTTP \(head.status)"
                    wait = try FailedAttempt.serverDelay(head, policy: retry)
                }
            } catch let error as TransferError {
                failure = try FailedAttempt.describe(error, url: source.url)
                countsProgress = !FailedAttempt.isTooSlow(error)
            }
            // Only attempts that made no progress count: a link that moves is not failing.
            guard failures.record(movedForward: countsProgress && cursor.position > before) else {
                throw FailedAttempt.exhausted(source.url, attempts: failures.count, last: failure, keptBytes: run.bytesOnDisk)
            }
            let pause = failures.pause(failure, subject: source.url.lastPathComponent, serverWait: wait)
            onRetry(pause.message)
            // The slot is free while we wait, so other files and downloads use the connection.
            slot.release()
            try await Task.sleep(for: .seconds(pause.seconds))
            try await slot.reacquire()
        }
    }
}

/// A budget slot that may be handed back during a backoff and taken again, released once.
private final class SlotHolder: @unchecked Sendable {
    private let budget: ConnectionBudget
    private let owner: ConnectionBudget.Owner
    private var held = true

    init(_ budget: ConnectionBudget, owner: ConnectionBudget.Owner) {
        self.budget = budget
        self.owner = owner
    }

    func release() {
        guard held else { return }
        held = false
        budget.release(for: owner)
    }

    func reacquire() async throws {
        guard !held else { return }
        try await budget.acquire(for: owner)
        held = true
    }
}
