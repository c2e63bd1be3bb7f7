import Foundation

/// The numbers behind parallel transfers. Defaults were measured with Benchmarks/run.sh on the
/// machine described in Benchmarks/RESULTS.md.
public struct TransferTuning: Sendable {
    /// Most bytes one parallel request asks for. libcurl (the default engine on Linux) reads
    /// only as fast as we write, but URLSession, the fallback, has no back-pressure: it reads on
    /// while the consumer falls behind, and with a connection budget of 32 this caps what it can
    /// hold at 64 MiB however slow the disk. Measured with URLSession, peak RSS for a 2 GiB
    /// download: 54–64 MB at 2 MiB, 80–107 MB at 4 MiB. Against
    /// a CDN throttling each connection to 20 MB/s a request still lasts ~0.1 s, so a round trip
    /// per request costs little.
    public var pieceSize: Int64 = 2 << 20
    /// Files larger than this are split into pieces; smaller ones take one in-order request (on
    /// one throttled connection a 4 MiB file takes ~0.2 s, and many small files already run at
    /// once). A URL of unknown size is asked for this much first; the answer reveals the size.
    public var parallelThreshold: Int64 = 4 << 20
    /// Most bytes one in-order request asks for (small files, servers without ranges,
    /// `connections: 1`): one connection per file, so a larger request costs fewer round trips
    /// (1 GiB over one connection: 2.9 s at 8 MiB per request, 3.4 s at 2 MiB) for little memory.
    public var inOrderRequestSize: Int64 = 8 << 20
    /// An idle connection splits a piece still in flight only when at least twice this is left:
    /// smaller tails finish sooner on the connection that has them.
    public var minimumSplit: Int64 = 512 << 10
    /// An idle connection splits a piece only when that piece still needs this long at its own
    /// pace (or has been silent this long): the split then saves at least half of it, worth a
    /// new request and the bytes the victim's connection had in flight past the cut.
    public var minimumStealSeconds: Double = 1.0
    /// Connections per file when the request does not say (`connections`); the process-wide
    /// `ConnectionBudget` caps the sum over all files and downloads.
    public var connectionsPerFile = 16
    /// A file starts on this many connections; when a request allows more, `ConnectionRamp`
    /// doubles them only while that adds throughput. 16, all a file uses by default: over
    /// libcurl an extra connection costs little (unthrottled, 1 GiB took the same at 4 and at 64
    /// connections) and a CDN that throttles each connection needs all of them from the start
    /// (512 MiB at 20 MB/s per connection: 1.92 s starting on 8, 1.72 s on 16). Over URLSession,
    /// where every connection is CPU, 4 to 8 were fastest unthrottled.
    public var initialConnections = 16
    /// Seconds between flushes of a parallel download's bytes to the disk while it runs, so the
    /// final sync before the rename has little left to wait for (at 1 s it waited for up to a
    /// second's worth of bytes, ~0.2 s more per throttled 512 MiB download than at 0.25 s).
    public var flushInterval: Double = 0.25

    public init() {}

    public static let standard = TransferTuning()
}
