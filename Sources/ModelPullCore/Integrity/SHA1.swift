import Foundation

/// SHA-1 (FIPS 180-4), incremental. Not for security: it exists because git blob ids, which
/// Hugging Face reports as the etag of regular (non-LFS) files, are SHA-1. Same structure as
/// `SHA256` (scalar locals, unrolled rounds, blocks read in place), so it is fast enough for
/// files of any size even though those files are usually small.
public struct SHA1: IncrementalHasher {
    private var core = BlockHashCore<SHA1Compressor>()

    public init() {}

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        core.update(buffer)
    }

    public mutating func finalize() -> Digest {
        core.finalize()
    }

    public static func hash(_ data: Data) -> Digest {
        var hasher = SHA1()
        hasher.update(data)
        return hasher.finalize()
    }
}

struct SHA1Compressor: BlockCompressor {
    // FIPS 180-4 §5.3.1 initial hash value.
    private var h0: UInt32 = 0x67452301, h1: UInt32 = 0xefcdab89, h2: UInt32 = 0x98badcfe
    private var h3: UInt32 = 0x10325476, h4: UInt32 = 0xc3d2e1f0

    init() {}

    var digestBytes: [UInt8] { bigEndianBytes([h0, h1, h2, h3, h4]) }

    mutating func compress(_ blocks: UnsafeRawPointer, count: Int) {
        var s0 = h0, s1 = h1, s2 = h2, s3 = h3, s4 = h4
        var p = blocks
        for _ in 0..<count {
            @inline(__always) func load(_ i: Int) -> UInt32 {
                UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
            }
            // 16-word rolling window of the message schedule: W[t] overwrites W[t-16].
            var w0 = load(0), w1 = load(1), w2 = load(2), w3 = load(3)
            var w4 = load(4), w5 = load(5), w6 = load(6), w7 = load(7)
            var w8 = load(8), w9 = load(9), w10 = load(10), w11 = load(11)
            var w12 = load(12), w13 = load(13), w14 = load(14), w15 = load(15)
            var a = s0, b = s1, c = s2, d = s3, e = s4

            // Generated: round t passes the working variables rotated by t mod 5 instead of
            // shuffling five values every round; x() computes W[t] for t >= 16 in place.
            ch(a, &b, c, d, &e, 0x5a827999, w0)
            ch(e, &a, b, c, &d, 0x5a827999, w1)
            ch(d, &e, a, b, &c, 0x5a827999, w2)
            ch(c, &d, e, a, &b, 0x5a827999, w3)
            ch(b, &c, d, e, &a, 0x5a827999, w4)
            ch(a, &b, c, d, &e, 0x5a827999, w5)
            ch(e, &a, b, c, &d, 0x5a827999, w6)
            ch(d, &e, a, b, &c, 0x5a827999, w7)
            ch(c, &d, e, a, &b, 0x5a827999, w8)
            ch(b, &c, d, e, &a, 0x5a827999, w9)
            ch(a, &b, c, d, &e, 0x5a827999, w10)
            ch(e, &a, b, c, &d, 0x5a827999, w11)
            ch(d, &e, a, b, &c, 0x5a827999, w12)
            ch(c, &d, e, a, &b, 0x5a827999, w13)
            ch(b, &c, d, e, &a, 0x5a827999, w14)
            ch(a, &b, c, d, &e, 0x5a827999, w15)
            ch(e, &a, b, c, &d, 0x5a827999, x(&w0, w13, w8, w2))
            ch(d, &e, a, b, &c, 0x5a827999, x(&w1, w14, w9, w3))
            ch(c, &d, e, a, &b, 0x5a827999, x(&w2, w15, w10, w4))
            ch(b, &c, d, e, &a, 0x5a827999, x(&w3, w0, w11, w5))
            parity(a, &b, c, d, &e, 0x6ed9eba1, x(&w4, w1, w12, w6))
            parity(e, &a, b, c, &d, 0x6ed9eba1, x(&w5, w2, w13, w7))
            parity(d, &e, a, b, &c, 0x6ed9eba1, x(&w6, w3, w14, w8))
            parity(c, &d, e, a, &b, 0x6ed9eba1, x(&w7, w4, w15, w9))
            parity(b, &c, d, e, &a, 0x6ed9eba1, x(&w8, w5, w0, w10))
            parity(a, &b, c, d, &e, 0x6ed9eba1, x(&w9, w6, w1, w11))
            parity(e, &a, b, c, &d, 0x6ed9eba1, x(&w10, w7, w2, w12))
            parity(d, &e, a, b, &c, 0x6ed9eba1, x(&w11, w8, w3, w13))
            parity(c, &d, e, a, &b, 0x6ed9eba1, x(&w12, w9, w4, w14))
            parity(b, &c, d, e, &a, 0x6ed9eba1, x(&w13, w10, w5, w15))
            parity(a, &b, c, d, &e, 0x6ed9eba1, x(&w14, w11, w6, w0))
            parity(e, &a, b, c, &d, 0x6ed9eba1, x(&w15, w12, w7, w1))
            parity(d, &e, a, b, &c, 0x6ed9eba1, x(&w0, w13, w8, w2))
            parity(c, &d, e, a, &b, 0x6ed9eba1, x(&w1, w14, w9, w3))
            parity(b, &c, d, e, &a, 0x6ed9eba1, x(&w2, w15, w10, w4))
            parity(a, &b, c, d, &e, 0x6ed9eba1, x(&w3, w0, w11, w5))
            parity(e, &a, b, c, &d, 0x6ed9eba1, x(&w4, w1, w12, w6))
            parity(d, &e, a, b, &c, 0x6ed9eba1, x(&w5, w2, w13, w7))
            parity(c, &d, e, a, &b, 0x6ed9eba1, x(&w6, w3, w14, w8))
            parity(b, &c, d, e, &a, 0x6ed9eba1, x(&w7, w4, w15, w9))
            majority(a, &b, c, d, &e, 0x8f1bbcdc, x(&w8, w5, w0, w10))
            majority(e, &a, b, c, &d, 0x8f1bbcdc, x(&w9, w6, w1, w11))
            majority(d, &e, a, b, &c, 0x8f1bbcdc, x(&w10, w7, w2, w12))
            majority(c, &d, e, a, &b, 0x8f1bbcdc, x(&w11, w8, w3, w13))
            majority(b, &c, d, e, &a, 0x8f1bbcdc, x(&w12, w9, w4, w14))
            majority(a, &b, c, d, &e, 0x8f1bbcdc, x(&w13, w10, w5, w15))
            majority(e, &a, b, c, &d, 0x8f1bbcdc, x(&w14, w11, w6, w0))
            majority(d, &e, a, b, &c, 0x8f1bbcdc, x(&w15, w12, w7, w1))
            majority(c, &d, e, a, &b, 0x8f1bbcdc, x(&w0, w13, w8, w2))
            majority(b, &c, d, e, &a, 0x8f1bbcdc, x(&w1, w14, w9, w3))
            majority(a, &b, c, d, &e, 0x8f1bbcdc, x(&w2, w15, w10, w4))
            majority(e, &a, b, c, &d, 0x8f1bbcdc, x(&w3, w0, w11, w5))
            majority(d, &e, a, b, &c, 0x8f1bbcdc, x(&w4, w1, w12, w6))
            majority(c, &d, e, a, &b, 0x8f1bbcdc, x(&w5, w2, w13, w7))
            majority(b, &c, d, e, &a, 0x8f1bbcdc, x(&w6, w3, w14, w8))
            majority(a, &b, c, d, &e, 0x8f1bbcdc, x(&w7, w4, w15, w9))
            majority(e, &a, b, c, &d, 0x8f1bbcdc, x(&w8, w5, w0, w10))
            majority(d, &e, a, b, &c, 0x8f1bbcdc, x(&w9, w6, w1, w11))
            majority(c, &d, e, a, &b, 0x8f1bbcdc, x(&w10, w7, w2, w12))
            majority(b, &c, d, e, &a, 0x8f1bbcdc, x(&w11, w8, w3, w13))
            parity(a, &b, c, d, &e, 0xca62c1d6, x(&w12, w9, w4, w14))
            parity(e, &a, b, c, &d, 0xca62c1d6, x(&w13, w10, w5, w15))
            parity(d, &e, a, b, &c, 0xca62c1d6, x(&w14, w11, w6, w0))
            parity(c, &d, e, a, &b, 0xca62c1d6, x(&w15, w12, w7, w1))
            parity(b, &c, d, e, &a, 0xca62c1d6, x(&w0, w13, w8, w2))
            parity(a, &b, c, d, &e, 0xca62c1d6, x(&w1, w14, w9, w3))
            parity(e, &a, b, c, &d, 0xca62c1d6, x(&w2, w15, w10, w4))
            parity(d, &e, a, b, &c, 0xca62c1d6, x(&w3, w0, w11, w5))
            parity(c, &d, e, a, &b, 0xca62c1d6, x(&w4, w1, w12, w6))
            parity(b, &c, d, e, &a, 0xca62c1d6, x(&w5, w2, w13, w7))
            parity(a, &b, c, d, &e, 0xca62c1d6, x(&w6, w3, w14, w8))
            parity(e, &a, b, c, &d, 0xca62c1d6, x(&w7, w4, w15, w9))
            parity(d, &e, a, b, &c, 0xca62c1d6, x(&w8, w5, w0, w10))
            parity(c, &d, e, a, &b, 0xca62c1d6, x(&w9, w6, w1, w11))
            parity(b, &c, d, e, &a, 0xca62c1d6, x(&w10, w7, w2, w12))
            parity(a, &b, c, d, &e, 0xca62c1d6, x(&w11, w8, w3, w13))
            parity(e, &a, b, c, &d, 0xca62c1d6, x(&w12, w9, w4, w14))
            parity(d, &e, a, b, &c, 0xca62c1d6, x(&w13, w10, w5, w15))
            parity(c, &d, e, a, &b, 0xca62c1d6, x(&w14, w11, w6, w0))
            parity(b, &c, d, e, &a, 0xca62c1d6, x(&w15, w12, w7, w1))

            s0 &+= a; s1 &+= b; s2 &+= c; s3 &+= d; s4 &+= e
            p += 64
        }
        h0 = s0; h1 = s1; h2 = s2; h3 = s3; h4 = s4
    }
}

@inline(__always)
private func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 {
    (x &<< n) | (x &>> (32 &- n))
}

// One SHA-1 round (FIPS 180-4 §6.1.2 step 3) with renamed variables:
// `e += ROTL5(a) + f(b, c, d) + K + W`, `b = ROTL30(b)`. The three variants differ only in f.

@inline(__always)
private func ch(
    _ a: UInt32, _ b: inout UInt32, _ c: UInt32, _ d: UInt32, _ e: inout UInt32, _ k: UInt32, _ w: UInt32
) {
    e = e &+ rotl(a, 5) &+ (d ^ (b & (c ^ d))) &+ k &+ w
    b = rotl(b, 30)
}

@inline(__always)
private func parity(
    _ a: UInt32, _ b: inout UInt32, _ c: UInt32, _ d: UInt32, _ e: inout UInt32, _ k: UInt32, _ w: UInt32
) {
    e = e &+ rotl(a, 5) &+ (b ^ c ^ d) &+ k &+ w
    b = rotl(b, 30)
}

@inline(__always)
private func majority(
    _ a: UInt32, _ b: inout UInt32, _ c: UInt32, _ d: UInt32, _ e: inout UInt32, _ k: UInt32, _ w: UInt32
) {
    e = e &+ rotl(a, 5) &+ ((b & c) | (d & (b | c))) &+ k &+ w
    b = rotl(b, 30)
}

/// Message schedule (FIPS 180-4 §6.1.2 step 1) on the rolling window:
/// `w` holds W[t-16] and becomes W[t] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]).
@inline(__always)
private func x(_ w: inout UInt32, _ w3: UInt32, _ w8: UInt32, _ w14: UInt32) -> UInt32 {
    w = rotl(w3 ^ w8 ^ w14 ^ w, 1)
    return w
}
