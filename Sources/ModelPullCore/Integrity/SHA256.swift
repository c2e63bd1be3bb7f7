import CModelPullSHA
import Foundation
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// SHA-256 (FIPS 180-4), incremental. Foundation on Linux has none and the project takes no
/// dependencies, so the hashing is ours: on CPUs with SHA instructions (x86-64 SHA-NI, ARMv8
/// SHA2) the block function is the C one in `CModelPullSHA`, over 4× the portable speed;
/// elsewhere it is a portable Swift implementation tuned for the hot path: whole blocks are
/// compressed straight from the caller's buffer, the state and the message schedule live in
/// scalar locals (registers/stack, no arrays, no bounds checks), and the 64 rounds are unrolled
/// with the round constants as immediates.
///
/// The choice is made once per process (see `implementation`); `MODELPULL_SHA256_PORTABLE=1`
/// in the environment forces the portable path, as a way out should a CPU misreport its
/// features and to measure one path against the other.
public struct SHA256: IncrementalHasher {
    private var core = BlockHashCore<SHA256Compressor>()

    public init() {}

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        core.update(buffer)
    }

    public mutating func finalize() -> Digest {
        core.finalize()
    }

    public static func hash(_ data: Data) -> Digest {
        var hasher = SHA256()
        hasher.update(data)
        return hasher.finalize()
    }

    /// A SHA-256 block function.
    public enum Implementation: String, Sendable {
        case portable = "portable"
        case x86SHANI = "x86-64 SHA-NI"
        case armv8SHA2 = "ARMv8 SHA2"
    }

    /// The block function this process uses, detected on first use (cpuid on x86-64,
    /// `getauxval` on Linux/aarch64) unless `MODELPULL_SHA256_PORTABLE` is set to anything but
    /// `0` or empty. Every digest is the same whichever it is; this is for logs and benchmarks.
    public static var implementation: Implementation { SHA256Acceleration.active.implementation }
}

/// SHA-256 that always uses the portable Swift block function, whatever the CPU: lets the
/// tests run both implementations against the same vectors in one process.
struct PortableSHA256: IncrementalHasher {
    private var core = BlockHashCore<PortableSHA256Compressor>()

    init() {}

    mutating func update(_ buffer: UnsafeRawBufferPointer) {
        core.update(buffer)
    }

    mutating func finalize() -> Digest {
        core.finalize()
    }

    static func hash(_ data: Data) -> Digest {
        var hasher = PortableSHA256()
        hasher.update(data)
        return hasher.finalize()
    }
}

/// The process-wide choice of block function. A `static let` so detection (a few cpuid
/// instructions, an environment lookup) runs once, thread-safely, and each `compress` call
/// costs only a load and a branch.
enum SHA256Acceleration: Sendable {
    case portable
    case x86SHANI
    case armv8SHA2

    static let active: SHA256Acceleration = choose(
        portableSetting: getenv("MODELPULL_SHA256_PORTABLE").map { String(cString: $0) },
        detected: detected)

    /// `MODELPULL_SHA256_PORTABLE` set to anything but empty or `0` forces the portable path.
    static func choose(portableSetting: String?, detected: SHA256Acceleration) -> SHA256Acceleration {
        if let setting = portableSetting, !setting.isEmpty, setting != "0" { return .portable }
        return detected
    }

    /// What the CPU and this build offer, ignoring the environment.
    static var detected: SHA256Acceleration {
        let found = modelpull_sha256_detect()
        if found == MODELPULL_SHA256_X86_SHANI { return .x86SHANI }
        if found == MODELPULL_SHA256_ARMV8_SHA2 { return .armv8SHA2 }
        return .portable
    }

    var implementation: SHA256.Implementation {
        switch self {
        case .portable: .portable
        case .x86SHANI: .x86SHANI
        case .armv8SHA2: .armv8SHA2
        }
    }
}

/// The eight chaining words H0…H7. A homogeneous tuple is laid out like a C `uint32_t[8]`,
/// which is what the C block function takes, and lives inline in the hasher (no allocation).
typealias SHA256Words = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

/// FIPS 180-4 §5.3.3 initial hash value.
private let sha256Initial: SHA256Words = (
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
)

private func sha256DigestBytes(_ h: SHA256Words) -> [UInt8] {
    bigEndianBytes([h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7])
}

/// The block function `SHA256` uses: the accelerated C one when `SHA256Acceleration.active`
/// has one, else the portable Swift one.
struct SHA256Compressor: BlockCompressor {
    private var state = sha256Initial

    init() {}

    var digestBytes: [UInt8] { sha256DigestBytes(state) }

    @inline(__always)
    mutating func compress(_ blocks: UnsafeRawPointer, count: Int) {
        let accel: modelpull_sha256_accel
        switch SHA256Acceleration.active {
        case .portable:
            sha256CompressPortable(&state, blocks, count: count)
            return
        case .x86SHANI: accel = MODELPULL_SHA256_X86_SHANI
        case .armv8SHA2: accel = MODELPULL_SHA256_ARMV8_SHA2
        }
        let status = withUnsafeMutablePointer(to: &state) { words in
            // A homogeneous tuple's memory is bound to its element type, so this is no rebind.
            modelpull_sha256_blocks(
                accel, UnsafeMutableRawPointer(words).assumingMemoryBound(to: UInt32.self),
                blocks, count)
        }
        // -1 only if the C side lacks what detection reported; it left the state untouched.
        if status != 0 {
            sha256CompressPortable(&state, blocks, count: count)
        }
    }
}

/// The portable block function alone, for `PortableSHA256`.
struct PortableSHA256Compressor: BlockCompressor {
    private var state = sha256Initial

    init() {}

    var digestBytes: [UInt8] { sha256DigestBytes(state) }

    mutating func compress(_ blocks: UnsafeRawPointer, count: Int) {
        sha256CompressPortable(&state, blocks, count: count)
    }
}

/// Compresses `count` 64-byte blocks at `blocks` (any alignment) into `state` in Swift.
private func sha256CompressPortable(_ state: inout SHA256Words, _ blocks: UnsafeRawPointer, count: Int) {
    // Chaining value in locals for the whole run of blocks; written back once at the end.
    var s0 = state.0, s1 = state.1, s2 = state.2, s3 = state.3
    var s4 = state.4, s5 = state.5, s6 = state.6, s7 = state.7
    var p = blocks
    for _ in 0..<count {
        // Message words are big-endian; loadUnaligned because blocks sit at any offset.
        @inline(__always) func load(_ i: Int) -> UInt32 {
            UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
        }
        // The 16-word rolling window of the message schedule: W[t] overwrites W[t-16].
        var w0 = load(0), w1 = load(1), w2 = load(2), w3 = load(3)
        var w4 = load(4), w5 = load(5), w6 = load(6), w7 = load(7)
        var w8 = load(8), w9 = load(9), w10 = load(10), w11 = load(11)
        var w12 = load(12), w13 = load(13), w14 = load(14), w15 = load(15)
        var a = s0, b = s1, c = s2, d = s3, e = s4, f = s5, g = s6, h = s7
        var bc = b ^ c

        // Generated: round t passes the working variables rotated by t mod 8 instead of
        // shuffling eight values every round; x() computes W[t] for t >= 16 in place.
        r(a, b, c, &d, e, f, g, &h, &bc, 0x428a2f98, w0)
        r(h, a, b, &c, d, e, f, &g, &bc, 0x71374491, w1)
        r(g, h, a, &b, c, d, e, &f, &bc, 0xb5c0fbcf, w2)
        r(f, g, h, &a, b, c, d, &e, &bc, 0xe9b5dba5, w3)
        r(e, f, g, &h, a, b, c, &d, &bc, 0x3956c25b, w4)
        r(d, e, f, &g, h, a, b, &c, &bc, 0x59f111f1, w5)
        r(c, d, e, &f, g, h, a, &b, &bc, 0x923f82a4, w6)
        r(b, c, d, &e, f, g, h, &a, &bc, 0xab1c5ed5, w7)
        r(a, b, c, &d, e, f, g, &h, &bc, 0xd807aa98, w8)
        r(h, a, b, &c, d, e, f, &g, &bc, 0x12835b01, w9)
        r(g, h, a, &b, c, d, e, &f, &bc, 0x243185be, w10)
        r(f, g, h, &a, b, c, d, &e, &bc, 0x550c7dc3, w11)
        r(e, f, g, &h, a, b, c, &d, &bc, 0x72be5d74, w12)
        r(d, e, f, &g, h, a, b, &c, &bc, 0x80deb1fe, w13)
        r(c, d, e, &f, g, h, a, &b, &bc, 0x9bdc06a7, w14)
        r(b, c, d, &e, f, g, h, &a, &bc, 0xc19bf174, w15)
        r(a, b, c, &d, e, f, g, &h, &bc, 0xe49b69c1, x(&w0, w14, w9, w1))
        r(h, a, b, &c, d, e, f, &g, &bc, 0xefbe4786, x(&w1, w15, w10, w2))
        r(g, h, a, &b, c, d, e, &f, &bc, 0x0fc19dc6, x(&w2, w0, w11, w3))
        r(f, g, h, &a, b, c, d, &e, &bc, 0x240ca1cc, x(&w3, w1, w12, w4))
        r(e, f, g, &h, a, b, c, &d, &bc, 0x2de92c6f, x(&w4, w2, w13, w5))
        r(d, e, f, &g, h, a, b, &c, &bc, 0x4a7484aa, x(&w5, w3, w14, w6))
        r(c, d, e, &f, g, h, a, &b, &bc, 0x5cb0a9dc, x(&w6, w4, w15, w7))
        r(b, c, d, &e, f, g, h, &a, &bc, 0x76f988da, x(&w7, w5, w0, w8))
        r(a, b, c, &d, e, f, g, &h, &bc, 0x983e5152, x(&w8, w6, w1, w9))
        r(h, a, b, &c, d, e, f, &g, &bc, 0xa831c66d, x(&w9, w7, w2, w10))
        r(g, h, a, &b, c, d, e, &f, &bc, 0xb00327c8, x(&w10, w8, w3, w11))
        r(f, g, h, &a, b, c, d, &e, &bc, 0xbf597fc7, x(&w11, w9, w4, w12))
        r(e, f, g, &h, a, b, c, &d, &bc, 0xc6e00bf3, x(&w12, w10, w5, w13))
        r(d, e, f, &g, h, a, b, &c, &bc, 0xd5a79147, x(&w13, w11, w6, w14))
        r(c, d, e, &f, g, h, a, &b, &bc, 0x06ca6351, x(&w14, w12, w7, w15))
        r(b, c, d, &e, f, g, h, &a, &bc, 0x14292967, x(&w15, w13, w8, w0))
        r(a, b, c, &d, e, f, g, &h, &bc, 0x27b70a85, x(&w0, w14, w9, w1))
        r(h, a, b, &c, d, e, f, &g, &bc, 0x2e1b2138, x(&w1, w15, w10, w2))
        r(g, h, a, &b, c, d, e, &f, &bc, 0x4d2c6dfc, x(&w2, w0, w11, w3))
        r(f, g, h, &a, b, c, d, &e, &bc, 0x53380d13, x(&w3, w1, w12, w4))
        r(e, f, g, &h, a, b, c, &d, &bc, 0x650a7354, x(&w4, w2, w13, w5))
        r(d, e, f, &g, h, a, b, &c, &bc, 0x766a0abb, x(&w5, w3, w14, w6))
        r(c, d, e, &f, g, h, a, &b, &bc, 0x81c2c92e, x(&w6, w4, w15, w7))
        r(b, c, d, &e, f, g, h, &a, &bc, 0x92722c85, x(&w7, w5, w0, w8))
        r(a, b, c, &d, e, f, g, &h, &bc, 0xa2bfe8a1, x(&w8, w6, w1, w9))
        r(h, a, b, &c, d, e, f, &g, &bc, 0xa81a664b, x(&w9, w7, w2, w10))
        r(g, h, a, &b, c, d, e, &f, &bc, 0xc24b8b70, x(&w10, w8, w3, w11))
        r(f, g, h, &a, b, c, d, &e, &bc, 0xc76c51a3, x(&w11, w9, w4, w12))
        r(e, f, g, &h, a, b, c, &d, &bc, 0xd192e819, x(&w12, w10, w5, w13))
        r(d, e, f, &g, h, a, b, &c, &bc, 0xd6990624, x(&w13, w11, w6, w14))
        r(c, d, e, &f, g, h, a, &b, &bc, 0xf40e3585, x(&w14, w12, w7, w15))
        r(b, c, d, &e, f, g, h, &a, &bc, 0x106aa070, x(&w15, w13, w8, w0))
        r(a, b, c, &d, e, f, g, &h, &bc, 0x19a4c116, x(&w0, w14, w9, w1))
        r(h, a, b, &c, d, e, f, &g, &bc, 0x1e376c08, x(&w1, w15, w10, w2))
        r(g, h, a, &b, c, d, e, &f, &bc, 0x2748774c, x(&w2, w0, w11, w3))
        r(f, g, h, &a, b, c, d, &e, &bc, 0x34b0bcb5, x(&w3, w1, w12, w4))
        r(e, f, g, &h, a, b, c, &d, &bc, 0x391c0cb3, x(&w4, w2, w13, w5))
        r(d, e, f, &g, h, a, b, &c, &bc, 0x4ed8aa4a, x(&w5, w3, w14, w6))
        r(c, d, e, &f, g, h, a, &b, &bc, 0x5b9cca4f, x(&w6, w4, w15, w7))
        r(b, c, d, &e, f, g, h, &a, &bc, 0x682e6ff3, x(&w7, w5, w0, w8))
        r(a, b, c, &d, e, f, g, &h, &bc, 0x748f82ee, x(&w8, w6, w1, w9))
        r(h, a, b, &c, d, e, f, &g, &bc, 0x78a5636f, x(&w9, w7, w2, w10))
        r(g, h, a, &b, c, d, e, &f, &bc, 0x84c87814, x(&w10, w8, w3, w11))
        r(f, g, h, &a, b, c, d, &e, &bc, 0x8cc70208, x(&w11, w9, w4, w12))
        r(e, f, g, &h, a, b, c, &d, &bc, 0x90befffa, x(&w12, w10, w5, w13))
        r(d, e, f, &g, h, a, b, &c, &bc, 0xa4506ceb, x(&w13, w11, w6, w14))
        r(c, d, e, &f, g, h, a, &b, &bc, 0xbef9a3f7, x(&w14, w12, w7, w15))
        r(b, c, d, &e, f, g, h, &a, &bc, 0xc67178f2, x(&w15, w13, w8, w0))

        s0 &+= a; s1 &+= b; s2 &+= c; s3 &+= d
        s4 &+= e; s5 &+= f; s6 &+= g; s7 &+= h
        p += 64
    }
    state = (s0, s1, s2, s3, s4, s5, s6, s7)
}

@inline(__always)
private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 {
    (x &>> n) | (x &<< (32 &- n))
}

/// One SHA-256 round (FIPS 180-4 §6.2.2 step 3) with renamed variables: `d += T1`, `h = T1 + T2`.
@inline(__always)
private func r(
    _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
    _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32,
    _ bc: inout UInt32, _ k: UInt32, _ w: UInt32
) {
    // Σ1 and Σ0 factored as nested rotations: without BMI2's `rorx` every rotate of a live
    // value costs a register copy, and this form needs one copy instead of three.
    let sigma1 = rotr(rotr(rotr(e, 14) ^ e, 5) ^ e, 6)
    let choose = g ^ (e & (f ^ g))
    let t1 = h &+ sigma1 &+ choose &+ k &+ w
    let sigma0 = rotr(rotr(rotr(a, 9) ^ a, 11) ^ a, 2)
    // Maj(a,b,c) = b ^ ((a^b) & (b^c)); this round's a^b is the next round's b^c, so carry it.
    let ab = a ^ b
    let majority = b ^ (ab & bc)
    bc = ab
    d &+= t1
    h = t1 &+ sigma0 &+ majority
}

/// Message schedule (FIPS 180-4 §6.2.2 step 1) on the rolling window:
/// `w` holds W[t-16] and becomes W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16].
@inline(__always)
private func x(_ w: inout UInt32, _ w2: UInt32, _ w7: UInt32, _ w15: UInt32) -> UInt32 {
    let sigma0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 &>> 3)
    let sigma1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 &>> 10)
    w = w &+ sigma1 &+ w7 &+ sigma0
    return w
}
