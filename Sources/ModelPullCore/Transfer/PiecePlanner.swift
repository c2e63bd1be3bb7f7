import Foundation

/// One piece of a file in flight on one connection: the bytes `start..<end`, written up to
/// `position`. Another worker may take the back half of what is left (`end` then shrinks), so
/// the write that reaches the new end stops the request instead of fetching bytes twice.
final class PieceCursor: @unchecked Sendable {
    let start: Int64
    private let lock = NSLock()
    private var _position: Int64
    private var _end: Int64

    init(_ range: Range<Int64>) {
        start = range.lowerBound
        _position = range.lowerBound
        _end = range.upperBound
    }

    var position: Int64 { lock.locked { _position } }
    var end: Int64 { lock.locked { _end } }
    var isFinished: Bool { lock.locked { _position >= _end } }
    var remaining: Int64 { lock.locked { max(0, _end - _position) } }
    /// What this piece has put on disk so far.
    var written: Range<Int64> { lock.locked { start..<_position } }

    /// Writes the part of `buffer` that belongs to this piece at the current position, holding
    /// the lock so a split can never hand out bytes that are being written. Returns how many
    /// bytes were taken (fewer than offered once the end is reached).
    func write(_ buffer: UnsafeRawBufferPointer, limit: Int64, to file: PartialFile) throws(DownloadFailure) -> Int {
        lock.lock()
        defer { lock.unlock() }
        let allowed = min(_end, limit) - _position
        let count = Int(max(0, min(Int64(buffer.count), allowed)))
        if count > 0 {
            try file.write(UnsafeRawBufferPointer(rebasing: buffer[..<count]), at: _position)
            _position += Int64(count)
        }
        return count
    }

    /// The file turned out to end at `size` (the first response revealed it).
    func clip(to size: Int64) {
        lock.locked { _end = min(_end, max(_position, size)) }
    }

    /// Gives away the back half of what is left, keeping at least `keep` bytes; nil when too
    /// little is left to be worth another request.
    func split(keeping keep: Int64, alignment: Int64) -> Range<Int64>? {
        lock.lock()
        defer { lock.unlock() }
        let left = _end - _position
        guard left >= 2 * keep else { return nil }
        var cut = _position + left / 2
        cut = min(_end - keep, max(_position + keep, (cut / alignment) * alignment))
        let given = cut..<_end
        _end = cut
        return given
    }
}

/// Hands out the missing parts of one file as bounded pieces, lowest offset first (so the hashed
/// prefix grows early), and once nothing is left unassigned, splits the piece with the most
/// left so the tail never waits on one slow connection.
final class PiecePlanner: @unchecked Sendable {
    private let lock = NSLock()
    private var unassigned: [Range<Int64>]
    private var active: [PieceCursor] = []
    private var finishedBytes: Int64 = 0
    let pieceSize: Int64
    let minimumSplit: Int64
    /// The size of the very first piece, when it differs (a URL's first request, see
    /// `TransferTuning.parallelThreshold`).
    private var firstPiece: Int64?

    init(missing: [Range<Int64>], pieceSize: Int64, minimumSplit: Int64, firstPiece: Int64? = nil) {
        unassigned = missing
        self.pieceSize = max(1, pieceSize)
        self.minimumSplit = max(1, minimumSplit)
        self.firstPiece = firstPiece
    }

    /// Adds work learned late (the rest of a file whose size the first response revealed).
    func add(_ range: Range<Int64>) {
        guard !range.isEmpty else { return }
        lock.locked { unassigned.append(range) }
    }

    /// The next piece to fetch, or nil when every byte is done or in flight on a piece too small
    /// to split.
    func next() -> PieceCursor? {
        lock.lock()
        defer { lock.unlock() }
        if !unassigned.isEmpty {
            let gap = unassigned[0]
            let upper = min(gap.upperBound, gap.lowerBound + (firstPiece ?? pieceSize))
            firstPiece = nil
            if upper >= gap.upperBound { unassigned.removeFirst() } else { unassigned[0] = upper..<gap.upperBound }
            let cursor = PieceCursor(gap.lowerBound..<upper)
            active.append(cursor)
            return cursor
        }
        var victim: PieceCursor?
        var most: Int64 = 0
        for cursor in active {
            let left = cursor.remaining
            if left > most { most = left; victim = cursor }
        }
        guard let victim, let stolen = victim.split(keeping: minimumSplit, alignment: 64 << 10) else { return nil }
        let cursor = PieceCursor(stolen)
        active.append(cursor)
        return cursor
    }

    /// The cursor's request ended (finished or given up): it is no longer a split candidate.
    func retire(_ cursor: PieceCursor) {
        lock.lock()
        defer { lock.unlock() }
        guard let index = active.firstIndex(where: { $0 === cursor }) else { return }
        active.remove(at: index)
        finishedBytes += cursor.position - cursor.start
    }

    /// Bytes written by this run's pieces, finished or not: the network bytes of the file.
    var writtenBytes: Int64 {
        lock.locked { finishedBytes + active.reduce(0) { $0 + ($1.position - $1.start) } }
    }

    /// What pieces still in flight have written: on disk, but not yet in the ledger.
    var inFlightRanges: [Range<Int64>] {
        lock.locked { active.map(\.written).filter { !$0.isEmpty } }
    }
}
