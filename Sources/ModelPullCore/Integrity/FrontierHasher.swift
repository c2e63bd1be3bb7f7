import Foundation

/// Hashes a file that is being written out of order: it follows the contiguous finished prefix
/// as it grows, reading the bytes back (from the page cache: they were just written) on a
/// low-priority thread of its own, so it uses the CPU the transfer leaves idle and, by the time the
/// last range lands, little or nothing is left to hash. What is left is hashed at normal
/// priority: the user is waiting for it then.
///
/// A digest needs its input in order, which parallel ranges do not give; hashing each range as it
/// arrives would need a tree hash the Hub does not publish.
final class FrontierHasher: @unchecked Sendable {
    private let file: PartialFile
    private let thread = LowPriorityThread(name: "modelpull.hash")
    /// How far the file is written, whether the thread is draining towards it, and whether it
    /// must stop (set by `finish` or `stop`: the thread hashes no further).
    private let progress = LockedValue((frontier: Int64(0), draining: false, stopped: false))
    /// Touched by one thread at a time: the hashing thread, then (after `thread.drained()`) the one that
    /// finishes.
    private var hasher: any IncrementalHasher
    private var hashed: Int64 = 0
    private var failure: DownloadFailure?
    /// Large enough to amortize the read, small enough not to show in peak memory.
    private static let chunk = 1 << 20

    init(file: PartialFile, algorithm: FileSink.DigestAlgorithm) {
        self.file = file
        hasher = algorithm.makeHasher()
    }

    /// The first `prefix` bytes are on disk: hash up to there in the background.
    func advance(to prefix: Int64) {
        let start = progress.withLock { state -> Bool in
            guard !state.stopped, prefix > state.frontier else { return false }
            state.frontier = prefix
            defer { state.draining = true }
            return !state.draining
        }
        if start { thread.async { [self] in drain() } }
    }

    deinit { thread.close() }

    /// Hashes whatever of the first `size` bytes is left and returns the digest. Call once every
    /// byte is on disk.
    func finish(size: Int64) async throws(DownloadFailure) -> Digest {
        await stop()
        let result: Result<Digest, DownloadFailure> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { [self] in
                hash(upTo: size, stoppable: false)
                continuation.resume(returning: failure.map { .failure($0) } ?? .success(hasher.finalize()))
            }
        }
        return try result.get()
    }

    /// Gives up without waiting (the file is being truncated to start over): the thread stops at
    /// its next chunk and its digest is never used.
    func abandon() {
        progress.withLock { $0.stopped = true }
        thread.close()
    }

    /// Stops the thread's hashing (at the next chunk) and waits until it no longer reads the
    /// file, so the caller may close it or finish the digest.
    func stop() async {
        progress.withLock { $0.stopped = true }
        await thread.drained()
        thread.close()
    }

    private func drain() {
        while true {
            let hashed = self.hashed
            let target: Int64? = progress.withLock { state in
                if state.stopped || hashed >= state.frontier {
                    state.draining = false
                    return nil
                }
                return state.frontier
            }
            guard let target else { return }
            hash(upTo: target, stoppable: true)
            if failure != nil {
                progress.withLock { $0.draining = false; $0.stopped = true }
                return
            }
        }
    }

    /// Reads the bytes back from the page cache (they were just written); mapping them instead
    /// measured no cheaper (page faults and unmapping cost what the copy does) and would turn a
    /// file shorter than its record into a SIGBUS.
    private func hash(upTo target: Int64, stoppable: Bool) {
        guard failure == nil, hashed < target else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunk, alignment: 64)
        defer { buffer.deallocate() }
        while hashed < target {
            if stoppable, progress.current.stopped { return }
            let want = Int(min(Int64(Self.chunk), target - hashed))
            do {
                let got = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: hashed)
                guard got > 0 else {
                    failure = DownloadFailure(.storage, "\(file.path) is shorter than the bytes recorded in it; retry to fetch them again.",
                                              retryable: true)
                    return
                }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<got]))
                hashed += Int64(got)
            } catch {
                failure = error
                return
            }
        }
    }
}
