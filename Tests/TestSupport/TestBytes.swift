import Foundation

/// Deterministic pseudo-random content for fake model files: the same (count, seed) always
/// gives the same bytes, so expected digests can be computed in the test, and no two offsets
/// look alike, so an off-by-one in a resumed download shows up as a content mismatch.
///
///     let weights = TestBytes.make(count: 1 << 20, seed: 7)
public enum TestBytes {
    public static func make(count: Int, seed: UInt64 = 0) -> Data {
        // SplitMix64: tiny, fast, and good enough that patterns never repeat at small periods.
        var state = seed &+ UInt64(count)
        var bytes = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            for shift in stride(from: 0, to: 64, by: 8) where index < count {
                bytes[index] = UInt8(truncatingIfNeeded: z >> UInt64(shift))
                index += 1
            }
        }
        return Data(bytes)
    }
}

extension String {
    /// Equal as UTF-8 bytes. Swift's `==` is canonical equivalence, which merges an NFC and an
    /// NFD spelling of one name: two different files to git, the Hub and Linux.
    public func isByteEqual(to other: String) -> Bool { utf8.elementsEqual(other.utf8) }
}
