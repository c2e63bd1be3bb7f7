import Foundation

/// Switches that exist only so Benchmarks/run.sh can measure what a feature costs. Nothing else
/// should set them; they are read from the environment and deliberately not in the protocol.
enum BenchmarkSwitches {
    /// `MODELPULL_BENCH_SKIP_VERIFY=1`: hash nothing and accept files on their size alone, to
    /// measure what verification costs (the "verification on vs off" case). Unsafe by design.
    static let skipVerifyVariable = "MODELPULL_BENCH_SKIP_VERIFY"

    /// False only when the benchmark turned verification off; says so in the log every time.
    static func verifies(_ context: DownloadContext) -> Bool {
        guard context.environment.flag(skipVerifyVariable) else { return true }
        context.log(.warning, "\(skipVerifyVariable) is set: files are NOT verified (benchmark use only)")
        return false
    }
}
