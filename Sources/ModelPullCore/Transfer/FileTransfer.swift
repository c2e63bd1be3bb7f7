import Foundation

/// Fetches one remote file into its partial file the fastest way the server allows, resuming
/// whatever an earlier run left, and hashes it on the way:
///
/// - a file larger than one piece (or of unknown size) is fetched in parallel ranges
///   (`ParallelFetcher`), hashed by a `FrontierHasher` that follows the finished prefix;
/// - a small file, a server without ranges, or a single connection is fetched in order
///   (`SequentialFetcher`) and hashed as the bytes arrive (`FileSink`).
///
/// It never decides whether the bytes are right: callers compare the digest with what they
/// expect, and install or discard the partial file.
public struct FileTransfer: Sendable {
    public let http: HTTPClient
    public let sequential: SequentialFetcher
    public let tuning: TransferTuning

    public init(http: HTTPClient, sequential: SequentialFetcher, tuning: TransferTuning = .standard) {
        self.http = http
        self.sequential = sequential
        self.tuning = tuning
    }

    public struct Job: Sendable {
        public var source: FetchSource
        public var partial: PartialFile
        /// nil: no digest (verification turned off for a benchmark).
        public var digest: FileSink.DigestAlgorithm?
        public var connections: Int

        public init(source: FetchSource, partial: PartialFile, digest: FileSink.DigestAlgorithm?, connections: Int) {
            self.source = source
            self.partial = partial
            self.digest = digest
            self.connections = connections
        }
    }

    public struct Outcome: Sendable {
        public var size: Int64
        public var digest: Digest?
        public var etag: String?
        public var lastModified: String?
        /// The strong validator the bytes came with (`RangeValidator`), for resuming them later.
        public var validator: String?
        /// Bytes that crossed the network in this run.
        public var transferred: Int64
        /// Bytes already on disk from an earlier run when this one started.
        public var resumed: Int64
    }

    /// Fetches the job's file, telling `observer` (see `TransferObserver`): `started` lets the
    /// caller record the validator before bytes exist, `progressed` never reports less than
    /// `resumed` unless the file restarts, and `retrying` says each retry and restart.
    public func run(_ job: Job, observer: TransferObserver) async throws -> Outcome {
        var job = job
        for attempt in 0..<2 {
            let start = try startingPoint(job)
            guard let resumed = start else { break }
            do {
                return try await parallel(job, resumed: resumed, observer: observer)
            } catch let obstacle as RangeFetchObstacle {
                // Nothing of the new answer was written; what is on disk cannot be continued.
                try reset(job.partial)
                job.source.validator = nil
                if obstacle == .rangesUnsupported {
                    if let kept = resumed, !kept.done.isEmpty {
                        observer.retrying(WholeBodyRestart.rangesIgnored.message(job.source.url.lastPathComponent))
                    }
                    break
                }
                if attempt == 1 { break }
                observer.retrying("\(job.source.url.lastPathComponent) changed on the server; downloading it again from the start")
            }
        }
        return try await inOrder(job, observer: observer)
    }

    /// What a parallel fetch resumes from, `.some(nil)` meaning "size not known yet"; nil when
    /// this file is fetched in order instead.
    private func startingPoint(_ job: Job) throws(DownloadFailure) -> RangeRecord?? {
        let expected = job.source.expectedSize
        switch RangeRecord.load(partialPath: job.partial.path) {
        case .valid(let record) where expected == nil || record.size == expected:
            return .some(record)
        case .valid, .unreadable:
            // Ranges of another version of the file, or a record that proves nothing: the bytes
            // are not ours to keep.
            try reset(job.partial)
        case .none:
            break
        }
        let length = job.partial.size
        if let expected, length > expected { try reset(job.partial) }
        guard job.connections > 1 else { return nil }
        if let expected {
            guard expected > tuning.parallelThreshold else { return nil }
            // A partial written in order (no record): its length is its finished prefix.
            let prefix = min(job.partial.size, expected)
            return .some(RangeRecord(size: expected, validator: RangeValidator.usable(job.source.validator),
                                     done: ByteRangeSet(prefix > 0 ? [0..<prefix] : [])))
        }
        // Unknown size: in order when an in-order partial exists, else the first response tells.
        return length > 0 ? nil : .some(nil)
    }

    private func reset(_ partial: PartialFile) throws(DownloadFailure) {
        try partial.truncate(to: 0)
        RangeRecord.remove(partialPath: partial.path)
    }

    private func parallel(_ job: Job, resumed: RangeRecord?, observer: TransferObserver) async throws -> Outcome {
        if let resumed {
            // Before the first byte: a partial with ranges but no record would pass for a prefix.
            try resumed.store(partialPath: job.partial.path)
        }
        let hasher = job.digest.map { FrontierHasher(file: job.partial, algorithm: $0) }
        let fetcher = ParallelFetcher(http: http, retry: sequential.retry, tuning: tuning)
        let target = ParallelFetcher.Target(source: job.source, file: job.partial, resumed: resumed,
                                            connections: job.connections, hasher: hasher)
        let report: ParallelFetcher.Report
        do {
            report = try await fetcher.fetch(target, observer: observer)
        } catch {
            await hasher?.stop()
            throw error
        }
        let digest = try await Self.digestWhileFlushing(job.partial) { try await hasher?.finish(size: report.size) }
        return Outcome(size: report.size, digest: digest, etag: report.etag, lastModified: report.lastModified,
                       validator: report.validator, transferred: report.transferred, resumed: resumed?.done.count ?? 0)
    }

    /// Finishes the digest while the file's bytes are flushed: the rest of the hashing waits on
    /// the CPU, the flush on the disk, so started together the commit's fsync before the rename
    /// finds little left to write.
    private static func digestWhileFlushing(_ file: PartialFile,
                                            _ digest: @Sendable () async throws -> Digest?) async throws -> Digest? {
        async let flushed: Void = flushInBackground(file)
        do {
            let value = try await digest()
            await flushed
            return value
        } catch {
            await flushed
            throw error
        }
    }

    private static func flushInBackground(_ file: PartialFile) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global(qos: .utility).async {
                file.syncData()
                continuation.resume()
            }
        }
    }

    private func inOrder(_ job: Job, observer: TransferObserver) async throws -> Outcome {
        let start = job.partial.size
        let tally = TransferTally(start: start)
        let throttle = ProgressThrottle(observer.progressed)
        let sink = FileSink(file: job.partial, digest: job.digest) { position in
            tally.record(position)
            throttle.report(position)
        }
        let outcome: FetchOutcome
        do {
            outcome = try await sequential.fetch(job.source, into: sink, observer: observer)
        } catch {
            await sink.stopHashing()
            throw error
        }
        observer.progressed(sink.length)
        let digest = try await Self.digestWhileFlushing(job.partial) { try await sink.finishDigest() }
        return Outcome(size: outcome.size, digest: digest, etag: outcome.etag,
                       lastModified: outcome.lastModified, validator: outcome.validator, transferred: tally.total,
                       resumed: tally.restarted ? 0 : start)
    }
}

/// Bytes that actually crossed the network for one file, from the sink's positions: a restart
/// (the server ignored a range) counts what is sent again, a resume does not count what was
/// already on disk.
struct TransferTally: Sendable {
    private struct State {
        var last: Int64
        var sum: Int64 = 0
        var restarted = false
    }
    private let state: LockedValue<State>

    init(start: Int64) { state = LockedValue(State(last: start)) }

    func record(_ position: Int64) {
        state.withLock { s in
            if position < s.last {
                s.last = 0
                s.restarted = true
            }
            s.sum += position - s.last
            s.last = position
        }
    }

    var total: Int64 { state.current.sum }
    /// Whether the bytes on disk at the start were dropped (none of them was kept).
    var restarted: Bool { state.current.restarted }
}

/// Passes positions on at most every 256 KiB (and every restart): the progress rules need a few
/// updates a second, not one per 16 KiB network chunk.
struct ProgressThrottle: Sendable {
    private let last = LockedValue<Int64>(-1)
    private let forward: @Sendable (Int64) -> Void
    private static let step: Int64 = 256 << 10

    init(_ forward: @escaping @Sendable (Int64) -> Void) { self.forward = forward }

    func report(_ position: Int64) {
        let due = last.withLock { last -> Bool in
            guard position < last || position - last >= Self.step else { return false }
            last = position
            return true
        }
        if due { forward(position) }
    }
}
