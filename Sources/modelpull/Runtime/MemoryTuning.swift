import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide allocator settings, applied first thing at launch.
///
/// - One malloc arena. URLSession allocates every 16 KiB network chunk on whichever dispatch
///   thread runs libcurl and frees it on a delegate thread; with glibc's default of up to 8
///   arenas per core each arena keeps its own high-water mark, and peak RSS during a 2 GiB
///   parallel download measured 64–83 MB with 2 arenas and 54–64 MB with one, for ~3% more CPU.
/// - A fixed mmap threshold of 128 KiB. libcurl gives every transfer a 512 KiB read buffer;
///   glibc's adaptive threshold rises after the first such buffer is freed, so later ones came
///   from the heap, which fragmented and kept growing: 3 files over 32 connections peaked at
///   111–116 MB RSS, with the threshold fixed at 54–55 MB, for ~0.1 CPU-s per GiB of mmap and
///   page faults (Benchmarks/RESULTS.md).
///
/// `mallopt` is not visible to Swift's Glibc module, hence the lookup; M_ARENA_MAX (-8) and
/// M_MMAP_THRESHOLD (-3) are glibc's stable ABI. Elsewhere (macOS, musl) this does nothing.
enum MemoryTuning {
    static let arenas: Int32 = 1
    static let mmapThreshold: Int32 = 128 << 10

    static func apply() {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(-8, arenas)
        _ = mallopt(-3, mmapThreshold)
        #endif
    }
}
