import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a partial file holds, remembered beside it (`<partial>.ranges`) so a killed process
/// resumes every range it had finished, not just a prefix. The record is JSON in a fixed-size
/// slot: the first write allocates the slot, later ones overwrite it in place, so recording
/// progress never needs new disk space (it must work when the disk has just filled up). A record
/// is only written after the bytes it lists were flushed with `syncData`, so it never claims
/// bytes a power cut could still take back.
///
/// A partial without a record was written in order (the sequential path): its length is its
/// finished prefix. A record that cannot be read proves nothing, and its partial is discarded.
public struct RangeRecord: Codable, Sendable, Equatable {
    public var size: Int64
    /// The ETag or Last-Modified the bytes came with, sent as `If-Range` when resuming.
    public var validator: String?
    public var done: ByteRangeSet

    public init(size: Int64, validator: String?, done: ByteRangeSet) {
        self.size = size
        self.validator = validator
        self.done = done
    }

    /// Room for a few hundred ranges; real downloads have a handful (pieces merge as they land).
    static let slotSize = 16 << 10

    public enum Stored: Sendable, Equatable {
        case none
        case valid(RangeRecord)
        case unreadable
    }

    public static func sidecarPath(for partialPath: String) -> String { partialPath + ".ranges" }

    public static func load(partialPath: String) -> Stored {
        let path = sidecarPath(for: partialPath)
        guard let data = FileManager.default.contents(atPath: path) else {
            return FileManager.default.fileExists(atPath: path) ? .unreadable : .none
        }
        guard var record = try? JSONDecoder().decode(RangeRecord.self, from: data), record.size >= 0 else {
            return .unreadable
        }
        record.done = record.done.clamped(to: record.size)
        return .valid(record)
    }

    /// Bytes of `partialPath` that are finished and need not be fetched again: the record's
    /// ranges, or the length of a partial written in order.
    public static func finishedBytes(partialPath: String, expectedSize: Int64?) -> Int64 {
        switch load(partialPath: partialPath) {
        case .valid(let record):
            return expectedSize.map { $0 == record.size } ?? true ? record.done.count : 0
        case .unreadable:
            return 0
        case .none:
            guard let length = Filesystem.regularFileSize(partialPath) else { return 0 }
            return expectedSize.map { length <= $0 ? length : 0 } ?? length
        }
    }

    public static func remove(partialPath: String) {
        unlink(sidecarPath(for: partialPath))
    }

    /// Writes the record over its slot (creating it on first use).
    func store(partialPath: String) throws(DownloadFailure) {
        let path = Self.sidecarPath(for: partialPath)
        guard var bytes = try? JSONEncoder().encode(self), bytes.count < Self.slotSize else {
            throw DownloadFailure(.storage, "The ranges record for \(partialPath) is too large.", retryable: false)
        }
        // Trailing spaces are valid JSON; a full slot each time means the file never grows.
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: Self.slotSize - bytes.count))
        // Never through a link: the record sits beside a partial file, where none belongs.
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw StorageFailure.from(errno: errno, doing: "open", path: path) }
        defer { _ = closeFile(fd) }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { throw StorageFailure.from(errno: written < 0 ? errno : EIO, doing: "write", path: path) }
    }
}

#if canImport(Glibc)
private func closeFile(_ fd: Int32) -> Int32 { Glibc.close(fd) }
#else
private func closeFile(_ fd: Int32) -> Int32 { Darwin.close(fd) }
#endif

/// The live ledger of one parallel download: finished ranges in memory, the record beside the
/// partial rewritten whenever progress is reported (a small in-place write, so every byte a
/// client was told about survives a crash of this process), and the partial's bytes flushed to
/// the disk every `flushInterval` seconds on a queue of their own (a flush can take a while on a
/// slow disk and must block neither the network callbacks nor Swift's cooperative threads).
///
/// A power cut may still lose bytes the record lists; the digest check at the end catches them,
/// as it does for a partial written in order.
final class RangeLedger: Sendable {
    private struct State {
        var record: RangeRecord
        var closed = false
        var lastFlush = monotonicSeconds()
        var flushing = false
    }
    private let file: PartialFile
    private let state: LockedValue<State>
    /// The record last written; held while writing, so record writes (progress ticks and the
    /// final one) never interleave.
    private let written = LockedValue<RangeRecord?>(nil)
    private let flushQueue = DispatchQueue(label: "modelpull.flush", qos: .utility)
    private let flushInterval: Double

    init(file: PartialFile, record: RangeRecord, flushInterval: Double) {
        self.file = file
        state = LockedValue(State(record: record))
        self.flushInterval = flushInterval
    }

    var size: Int64 { state.current.record.size }
    var done: ByteRangeSet { state.current.record.done }
    var validator: String? { state.current.record.validator }

    /// Takes the validator a response revealed when the record had none (a resumed partial
    /// whose first run never heard one); written with the next record.
    func adopt(validator: String?) {
        guard let validator else { return }
        state.withLock { if $0.record.validator == nil { $0.record.validator = validator } }
    }

    /// Records a finished range and returns the new end of the contiguous prefix.
    @discardableResult
    func markDone(_ range: Range<Int64>) -> Int64 {
        state.withLock { state in
            state.record.done.insert(range)
            return state.record.done.prefixEnd
        }
    }

    /// Writes the record, counting `inFlight` (what pieces still running have written: those
    /// bytes are in the file too) as done, unless nothing changed since the last write.
    func store(inFlight: [Range<Int64>]) {
        guard let snapshot: RangeRecord = state.withLock({ $0.closed ? nil : $0.record }) else { return }
        write(snapshot, inFlight: inFlight)
    }

    private func write(_ snapshot: RangeRecord, inFlight: [Range<Int64>]) {
        var snapshot = snapshot
        for range in inFlight { snapshot.done.insert(range) }
        written.withLock { written in
            guard snapshot != written else { return }
            // A failed write (a full disk) keeps the last record: it claims less, never more.
            if (try? snapshot.store(partialPath: file.path)) != nil { written = snapshot }
        }
    }

    /// Flushes the bytes written so far in the background, at most every `flushInterval`.
    func flushSoon() {
        let due: Bool = state.withLock { state in
            guard !state.closed, !state.flushing, monotonicSeconds() - state.lastFlush >= flushInterval else { return false }
            state.flushing = true
            return true
        }
        guard due else { return }
        flushQueue.async { [self] in
            file.syncData()
            state.withLock { state in
                state.flushing = false
                state.lastFlush = monotonicSeconds()
            }
        }
    }

    /// Stops all writes, first writing the record one last time when the fetch ended unfinished
    /// (`inFlight` non-nil): a finished file needs none, it is about to be verified and renamed.
    /// Returns once no flush runs, so the caller may close the file.
    func close(persisting inFlight: [Range<Int64>]?) async {
        let snapshot: RangeRecord? = state.withLock { state in
            state.closed = true
            return state.record
        }
        if let inFlight, let snapshot { write(snapshot, inFlight: inFlight) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            flushQueue.async { continuation.resume() }
        }
    }
}
