import Foundation

/// What a failed request means for the next attempt: a sentence for the retry message, or a
/// `DownloadFailure` when trying again cannot help.
enum FailedAttempt {
    /// An attempt that ended this way made no progress even if a few bytes came: a server
    /// dripping bytes must not reset the failure count with each drip.
    static func isTooSlow(_ error: TransferError) -> Bool {
        if case .tooSlow = error { return true }
        return false
    }

    /// The sentence for a transport failure worth retrying; throws for those that are not.
    static func describe(_ error: TransferError, url: URL) throws(DownloadFailure) -> String {
        switch error {
        case .stalled(let seconds):
            return "no data arrived for \(Int(seconds)) s"
        case .network(let reason):
            return "the connection failed (\(reason))"
        case .truncated(let expected, let received):
            return "the server sent \(received) of \(expected) bytes"
        case .protocolViolation(let what):
            return "the server broke the protocol (\(what))"
        case .headTimedOut(let seconds):
            return "the response head did not arrive within \(Int(seconds)) s"
        case .tooSlow(let bytes, let seconds):
            return "only \(bytes) bytes arrived in \(Int(seconds)) s, below \(Int(ThroughputFloor.minimumBytesPerSecond)) bytes/s"
        case .unacceptableResponse(let what):
            throw DownloadFailure(.upstream, "Cannot store \(url.redactedForLogs): \(what).", retryable: false)
        case .tooManyRedirects:
            throw DownloadFailure(.upstream, "Too many redirects fetching \(url.redactedForLogs): the server is in a redirect loop.", retryable: false)
        case .proxyFailed, .untrustedCertificate:
            throw error.settingsFailure!
        case .responseTooLarge, .unsupportedURL:
            throw DownloadFailure(.upstream, "Cannot fetch \(url.redactedForLogs): \(error)", retryable: false)
        }
    }

    /// For a retryable status: how long the server asks us to wait, if it says; throws when that
    /// is longer than the policy accepts (the download then ends as `rate_limited`).
    static func serverDelay(_ head: HTTPResponseHead, policy: RetryPolicy) throws(DownloadFailure) -> Double? {
        guard let after = RetryPolicy.retryAfter(head.headers) else { return nil }
        guard after <= policy.maxRetryAfter else {
            throw DownloadFailure(.rateLimited,
                "The server asks to wait \(Int(after)) s before retrying (HTTP \(head.status)). Try again later.",
                retryAfterSeconds: after)
        }
        return after
    }

    /// The failure that ends a transfer after `attempts` attempts in a row made no progress.
    /// A resume is promised only when there is something to resume.
    static func exhausted(_ url: URL, attempts: Int, last failure: String, keptBytes: Int64) -> DownloadFailure {
        let next = keptBytes > 0
            ? "The \(ByteFormat.string(keptBytes)) received are kept; the same request continues from there."
            : "Nothing was received; check the address and the network, then try again."
        return DownloadFailure(.network, "Download of \(url.lastPathComponent) failed after \(attempts) attempts: \(failure). \(next)",
                               details: ["url": .string(url.redactedForLogs)])
    }
}
