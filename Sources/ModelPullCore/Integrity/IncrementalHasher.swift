import Foundation
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The streaming shape every hasher in this module shares, so transfer code can feed bytes as
/// they arrive from the network without caring whether the provider promised a SHA-256 or a
/// git blob id.
public protocol IncrementalHasher: Sendable {
    /// Feeds bytes. May be called any number of times with buffers of any size (including 0).
    mutating func update(_ buffer: UnsafeRawBufferPointer)
    /// Pads, produces the digest and resets the hasher to its initial state, so a finalized
    /// hasher can be reused for the next input instead of silently continuing the old one.
    mutating func finalize() -> Digest
}

extension IncrementalHasher {
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds a whole file, e.g. to re-verify a file already on disk. Reads 1 MiB at a time into
    /// one reused buffer: a fresh `Data` per chunk costs page faults that showed up as ~20% of
    /// the time on large files. Throws what `FileHandle` throws, or the `POSIXError` of `read`.
    public mutating func update(contentsOf url: URL) throws {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = read(handle.fileDescriptor, buffer.baseAddress, buffer.count)
            if count > 0 {
                update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            } else if count == 0 {
                return
            } else if errno != EINTR {
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
        }
    }
}

/// 64 bytes of inline storage: a partial block lives inside the hasher value itself, so a
/// hasher never allocates and stays a plain `Sendable` value type.
typealias Bytes64 = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

/// One Merkle–Damgård compression function over 64-byte blocks (SHA-1 and SHA-256 both are).
protocol BlockCompressor: Sendable {
    init()
    /// Compresses `count` consecutive 64-byte blocks at `blocks`. No alignment is assumed,
    /// because blocks usually come straight out of a network or file buffer at any offset.
    mutating func compress(_ blocks: UnsafeRawPointer, count: Int)
    /// The chaining value serialized big-endian, i.e. the digest once the last block is in.
    var digestBytes: [UInt8] { get }
}

/// The framing SHA-1 and SHA-256 share: buffer only a trailing partial block, hand every whole
/// block to the compressor straight from the caller's memory, then pad with 0x80, zeros and the
/// 64-bit big-endian bit length (FIPS 180-4 §5.1.1).
struct BlockHashCore<Compressor: BlockCompressor>: Sendable {
    private var state = Compressor()
    private var pending: Bytes64 = (0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    private var totalBytes: UInt64 = 0

    init() {}

    @inline(__always)
    mutating func update(_ input: UnsafeRawBufferPointer) {
        guard var source = input.baseAddress, input.count > 0 else { return }
        var remaining = input.count
        totalBytes &+= UInt64(truncatingIfNeeded: remaining)

        if pendingCount > 0 {
            let take = min(64 - pendingCount, remaining)
            let offset = pendingCount
            withUnsafeMutableBytes(of: &pending) { block in
                (block.baseAddress! + offset).copyMemory(from: source, byteCount: take)
            }
            pendingCount += take
            source += take
            remaining -= take
            if pendingCount < 64 { return }
            // Copy so the compressor is not called while `pending` is borrowed (exclusivity).
            var block = pending
            withUnsafeBytes(of: &block) { state.compress($0.baseAddress!, count: 1) }
            pendingCount = 0
        }

        let whole = remaining / 64
        if whole > 0 {
            state.compress(source, count: whole)
            source += whole * 64
            remaining -= whole * 64
        }
        if remaining > 0 {
            let tail = remaining
            withUnsafeMutableBytes(of: &pending) { block in
                block.baseAddress!.copyMemory(from: source, byteCount: tail)
            }
            pendingCount = tail
        }
    }

    mutating func finalize() -> Digest {
        // Up to 63 pending bytes + 0x80 + length may spill into a second block.
        var tail: (Bytes64, Bytes64) = ((0, 0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0, 0))
        let count = pendingCount
        let blocks = count < 56 ? 1 : 2
        let bitLength = totalBytes &* 8  // the standard defines the length modulo 2^64
        let partial = pending
        withUnsafeMutableBytes(of: &tail) { out in
            withUnsafeBytes(of: partial) { out.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count) }
            out[count] = 0x80
            out.storeBytes(of: bitLength.bigEndian, toByteOffset: blocks * 64 - 8, as: UInt64.self)
            state.compress(UnsafeRawPointer(out.baseAddress!), count: blocks)
        }
        let digest = Digest(bytes: state.digestBytes)
        self = BlockHashCore()
        return digest
    }
}

/// Serializes chaining words big-endian, the byte order FIPS 180-4 digests are defined in.
func bigEndianBytes(_ words: [UInt32]) -> [UInt8] {
    var bytes = [UInt8]()
    bytes.reserveCapacity(words.count * 4)
    for word in words {
        withUnsafeBytes(of: word.bigEndian) { bytes.append(contentsOf: $0) }
    }
    return bytes
}
