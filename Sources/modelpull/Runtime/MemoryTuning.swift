import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide allocator settings, applied first thing at launch.
enum MemoryTuning {
    /// On glibc, one malloc arena. URLSession allocates every 16 KiB network chunk on whichever
    /// dispatch thread runs libcurl and frees it on a delegate thread; with glibc's default of up
    /// to 8 arenas per core each arena keeps its own high-water mark, and peak RSS during a 2 GiB
    /// parallel download measured 64–83 MB with 2 arenas and 54–64 MB with one, for ~3% more CPU
    /// (Benchmarks/RESULTS.md).
    /// `mallopt` is not visible to Swift's Glibc module, hence the lookup; M_ARENA_MAX is -8 in
    /// glibc's stable ABI. Elsewhere (macOS, musl) this does nothing.
    static func apply() {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(-8, 1)
        #endif
    }
}
