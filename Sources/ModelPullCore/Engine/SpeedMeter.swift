import Foundation

/// Measures transfer speed over a sliding window, so a burst or a pause moves the figure
/// gradually instead of making it jump, and a stalled transfer decays to zero.
struct SpeedMeter {
    private var samples: [(time: Double, bytes: Int64)] = []
    private let window: Double

    init(window: Double = 3.0) {
        self.window = window
    }

    /// Records the cumulative number of network bytes at `time` (monotonic seconds).
    /// Called for every chunk on the hot path, so it keeps at most one sample per tenth of a
    /// second: the window stays a few dozen entries however small the chunks are.
    mutating func record(totalBytes: Int64, at time: Double) {
        if let last = samples.last, time - last.time < 0.1, samples.count > 1 {
            samples[samples.count - 1].bytes = totalBytes
            return
        }
        samples.append((time, totalBytes))
        // Keep one sample older than the window so the rate spans the whole window.
        while samples.count > 2, samples[1].time < time - window {
            samples.removeFirst()
        }
    }

    /// Bytes per second across the window, or nil until there is enough history to say.
    func bytesPerSecond(at time: Double) -> Double? {
        guard let first = samples.first, let last = samples.last else { return nil }
        let span = time - first.time
        guard span >= 0.25 else { return nil }
        return Double(last.bytes - first.bytes) / span
    }
}

/// Monotonic seconds, unaffected by wall-clock changes.
public func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000_000
}
