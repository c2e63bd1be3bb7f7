import Foundation

/// One piece of a file in flight on one connection: the bytes `start..<end`, written up to
/// `position`. Another worker may take the back half of what is left (`end` then shrinks), so
/// the write that reaches the new end stops the request instead of fetching bytes twice.
final class PieceCursor: Sendable {
    let start: Int64
    /// When the piece was handed out (the planner's clock), to judge its pace.
    let handedOutAt: Double
    /// Where the next byte goes, and where this piece ends.
    private let span: LockedValue<(position: Int64, end: Int64)>

    init(_ range: Range<Int64>, handedOutAt: Double = 0) {
        start = range.lowerBound
        self.handedOutAt = handedOutAt
        span = LockedValue((range.lowerBound, range.upperBound))
    }

    /// How long this piece still needs at the pace it has kept since it was handed out;
    /// infinite when it has received nothing for `patience` seconds, nil while it is too early
    /// to tell (nothing yet, within `patience`).
    func secondsLeft(at now: Double, patience: Double) -> Double? {
        span.withLock { span in
            let left = span.end - span.position
            guard left > 0 else { return 0 }
            let elapsed = now - handedOutAt
            let done = span.position - start
            guard done > 0 else { return elapsed >= patience ? .infinity : nil }
            return Double(left) / (Double(done) / max(elapsed, 0.001))
        }
    }

    var position: Int64 { span.current.position }
    var end: Int64 { span.current.end }
    var isFinished: Bool { span.withLock { $0.position >= $0.end } }
    var remaining: Int64 { span.withLock { max(0, $0.end - $0.position) } }
    /// What this piece has put on disk so far.
    var written: Range<Int64> { start..<span.current.position }

    /// Writes the part of `buffer` that belongs to this piece at the current position, holding
    /// the lock so a split can never hand out bytes that are being written. Returns how many
    /// bytes were taken (fewer than offered once the end is reached).
    func write(_ buffer: UnsafeRawBufferPointer, limit: Int64, to file: PartialFile) throws(DownloadFailure) -> Int {
        try span.withLock { (span) throws(DownloadFailure) -> Int in
            let allowed = min(span.end, limit) - span.position
            let count = Int(max(0, min(Int64(buffer.count), allowed)))
            if count > 0 {
                try file.write(UnsafeRawBufferPointer(rebasing: buffer[..<count]), at: span.position)
                span.position += Int64(count)
            }
            return count
        }
    }

    /// The file turned out to end at `size` (the first response revealed it).
    func clip(to size: Int64) {
        span.withLock { $0.end = min($0.end, max($0.position, size)) }
    }

    /// Gives away the back half of what is left, keeping at least `keep` bytes; nil when too
    /// little is left to be worth another request.
    func split(keeping keep: Int64, alignment: Int64) -> Range<Int64>? {
        span.withLock { span in
            let left = span.end - span.position
            guard left >= 2 * keep else { return nil }
            var cut = span.position + left / 2
            cut = min(span.end - keep, max(span.position + keep, (cut / alignment) * alignment))
            let given = cut..<span.end
            span.end = cut
            return given
        }
    }
}

/// Hands out the missing parts of one file as bounded pieces, lowest offset first (so the hashed
/// prefix grows early), and once nothing is left unassigned, splits the piece that needs the
/// longest, so the tail never waits on one slow connection.
///
/// A split costs: a new request, and the bytes the server had already sent on the victim's
/// connection past the cut, which are thrown away when it stops there. So a piece is split only
/// when that shortens the download: when it still needs at least `minimumStealSeconds` at its
/// own pace (half of that is saved), or it has been silent that long. On a CDN that throttles
/// every connection alike no piece of a healthy tail qualifies, and nothing is wasted.
final class PiecePlanner: Sendable {
    let pieceSize: Int64
    let minimumSplit: Int64
    let minimumStealSeconds: Double
    private let clock: @Sendable () -> Double
    private struct State {
        var unassigned: [Range<Int64>]
        var active: [PieceCursor] = []
        var finishedBytes: Int64 = 0
        /// The size of the very first piece, when it differs (a URL's first request, see
        /// `TransferTuning.parallelThreshold`).
        var firstPiece: Int64?
    }
    private let state: LockedValue<State>

    init(missing: [Range<Int64>], pieceSize: Int64, minimumSplit: Int64, firstPiece: Int64? = nil,
         minimumStealSeconds: Double = TransferTuning.standard.minimumStealSeconds,
         clock: @escaping @Sendable () -> Double = monotonicSeconds) {
        state = LockedValue(State(unassigned: missing, firstPiece: firstPiece))
        self.pieceSize = max(1, pieceSize)
        self.minimumSplit = max(1, minimumSplit)
        self.minimumStealSeconds = minimumStealSeconds
        self.clock = clock
    }

    /// Adds work learned late (the rest of a file whose size the first response revealed).
    func add(_ range: Range<Int64>) {
        guard !range.isEmpty else { return }
        state.withLock { $0.unassigned.append(range) }
    }

    /// What an idle connection should do next.
    enum Assignment {
        /// Fetch this piece.
        case piece(PieceCursor)
        /// Nothing to take now, but a piece in flight could still fall behind: ask again soon.
        case later
        /// Every byte is done or in flight on a piece too small to split: this connection can go.
        case none
    }

    /// The next piece to fetch: the lowest unassigned one, else the back half of the piece
    /// needing the longest when splitting it pays (see the type's comment).
    func next() -> Assignment {
        let now = clock()
        return state.withLock { state in
            if !state.unassigned.isEmpty {
                let gap = state.unassigned[0]
                let upper = min(gap.upperBound, gap.lowerBound + (state.firstPiece ?? pieceSize))
                state.firstPiece = nil
                if upper >= gap.upperBound { state.unassigned.removeFirst() } else { state.unassigned[0] = upper..<gap.upperBound }
                let cursor = PieceCursor(gap.lowerBound..<upper, handedOutAt: now)
                state.active.append(cursor)
                return .piece(cursor)
            }
            let splittable = state.active.filter { $0.remaining >= 2 * minimumSplit }
            // The piece needing the longest (silent ones first), the one with most left among equals.
            var victim: PieceCursor?
            var worst: (seconds: Double, bytes: Int64) = (minimumStealSeconds, 0)
            for cursor in splittable {
                guard let seconds = cursor.secondsLeft(at: now, patience: minimumStealSeconds), seconds >= minimumStealSeconds else { continue }
                let candidate = (seconds: seconds, bytes: cursor.remaining)
                if candidate.seconds > worst.seconds || (candidate.seconds == worst.seconds && candidate.bytes > worst.bytes) {
                    worst = candidate
                    victim = cursor
                }
            }
            guard let victim, let stolen = victim.split(keeping: minimumSplit, alignment: 64 << 10) else {
                return splittable.isEmpty ? .none : .later
            }
            let cursor = PieceCursor(stolen, handedOutAt: now)
            state.active.append(cursor)
            return .piece(cursor)
        }
    }

    /// The cursor's request ended (finished or given up): it is no longer a split candidate.
    func retire(_ cursor: PieceCursor) {
        state.withLock { state in
            guard let index = state.active.firstIndex(where: { $0 === cursor }) else { return }
            state.active.remove(at: index)
            state.finishedBytes += cursor.position - cursor.start
        }
    }

    /// Bytes written by this run's pieces, finished or not: the network bytes of the file.
    var writtenBytes: Int64 {
        state.withLock { state in state.finishedBytes + state.active.reduce(0) { $0 + ($1.position - $1.start) } }
    }

    /// What pieces still in flight have written: on disk, but not yet in the ledger.
    var inFlightRanges: [Range<Int64>] {
        state.withLock { state in state.active.map(\.written).filter { !$0.isEmpty } }
    }
}
