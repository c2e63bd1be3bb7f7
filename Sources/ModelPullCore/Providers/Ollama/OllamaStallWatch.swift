import Foundation

/// Decides when a pull has stalled.
///
/// Silence cannot be the signal: while downloading, Ollama repeats its last progress line every
/// 60 ms whether or not bytes move (and while verifying it is silent for minutes on purpose).
/// So the watch looks at activity, bytes growing or a new layer or phase beginning, and only
/// outside the quiet phases. After `limit` seconds without activity the job's message says it
/// is stalled; after twice that the pull ends as a `network` error.
struct OllamaStallWatch {
    enum Verdict: Equatable {
        case fine
        /// Newly stalled: show the warning once.
        case warn(seconds: Int)
        /// Stalled for too long: give up.
        case fail(seconds: Int)
    }

    let limit: Double
    private var lastActivity: Double
    private(set) var warned = false

    init(limit: Double, now: Double) {
        self.limit = limit
        self.lastActivity = now
    }

    /// Something moved. Returns true when that ends a stall that had been reported, so the
    /// caller can put the normal message back.
    mutating func activity(at now: Double) -> Bool {
        lastActivity = now
        defer { warned = false }
        return warned
    }

    /// Called periodically. `quiet` phases (hashing, writing) never stall; the clock restarts
    /// when they end.
    mutating func check(at now: Double, quiet: Bool) -> Verdict {
        if quiet {
            lastActivity = now
            return .fine
        }
        let idle = now - lastActivity
        if idle >= 2 * limit { return .fail(seconds: Int(idle.rounded(.down))) }
        if idle >= limit, !warned {
            warned = true
            return .warn(seconds: Int(idle.rounded(.down)))
        }
        return .fine
    }
}
