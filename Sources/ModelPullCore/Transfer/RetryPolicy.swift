import Foundation

/// When to try again and how long to wait. Failures are counted only while no progress is made:
/// a flaky link that drops every few hundred megabytes still finishes, a dead one does not.
public struct RetryPolicy: Sendable {
    public var maxConsecutiveFailures: Int
    public var baseDelay: Double
    public var maxDelay: Double
    /// A `Retry-After` longer than this ends the download as `rate_limited` instead of sleeping.
    public var maxRetryAfter: Double

    public init(maxConsecutiveFailures: Int = 6, baseDelay: Double = 0.25, maxDelay: Double = 8,
                maxRetryAfter: Double = 60) {
        self.maxConsecutiveFailures = maxConsecutiveFailures
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    public static let standard = RetryPolicy()
    /// One try: for a call whose failure has a ready answer elsewhere (the cache).
    public static let singleAttempt = RetryPolicy(maxConsecutiveFailures: 1)

    /// Exponential backoff with jitter for the `attempt`-th consecutive failure (1-based).
    public func delay(forAttempt attempt: Int) -> Double {
        let exponential = min(maxDelay, baseDelay * pow(2, Double(max(0, attempt - 1))))
        return exponential * Double.random(in: 0.75...1.0)
    }

    /// Statuses that a later attempt can cure.
    public static func isRetryable(status: Int) -> Bool {
        [408, 425, 429, 500, 502, 503, 504].contains(status)
    }

    /// Reads `Retry-After` (seconds or an HTTP date) or the IETF `RateLimit` header's `t=`.
    public static func retryAfter(_ headers: HTTPHeaders, now: Date = Date()) -> Double? {
        if let value = headers["Retry-After"]?.trimmingCharacters(in: .whitespaces) {
            if let seconds = Double(value) { return max(0, seconds) }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            if let date = formatter.date(from: value) { return max(0, date.timeIntervalSince(now)) }
        }
        if let rateLimit = headers["RateLimit"] {
            for part in rateLimit.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix("t="), let seconds = Double(pair.dropFirst(2)) { return seconds + 1 }
            }
        }
        return nil
    }
}

/// The bookkeeping of every loop that retries (the in-order fetcher, each parallel worker, Hub
/// API calls), kept in one place: failures count only while nothing moves, the run ends at the
/// policy's limit, and each pause is said the same way.
struct ConsecutiveFailures: Sendable {
    let policy: RetryPolicy
    private(set) var count = 0

    init(_ policy: RetryPolicy) {
        self.policy = policy
    }

    /// Records a failed attempt; one that moved the file forward starts a new run. False when
    /// the run has reached the limit: give up.
    mutating func record(movedForward: Bool = false) -> Bool {
        count = movedForward ? 1 : count + 1
        return count < policy.maxConsecutiveFailures
    }

    /// An attempt that succeeded (or moved the file without failing).
    mutating func reset() { count = 0 }

    /// Whether one more failure would end the run.
    var isLastAttempt: Bool { count + 1 >= policy.maxConsecutiveFailures }

    /// The wait before the next attempt (the server's when it asked, else backoff) and the
    /// sentence that says so.
    func pause(_ reason: String, subject: String? = nil, serverWait: Double? = nil) -> (seconds: Double, message: String) {
        let seconds = serverWait ?? policy.delay(forAttempt: count)
        let retrying = subject.map { "Retrying \($0) in" } ?? "Retrying in"
        return (seconds, "\(retrying) \(String(format: "%.1f", seconds)) s: \(reason) (attempt \(count + 1) of \(policy.maxConsecutiveFailures))")
    }
}
