import Foundation

/// When a failure to reach the Hub may be answered from the cache, as huggingface_hub's
/// `snapshot_download` answers it (`_snapshot_download.py`): the Hub could not be reached
/// (connection refused, DNS, TLS, timeout) or it answered 5xx, 429, 401, 403 or not-found
/// (gated included). Never when the Hub says the revision does not exist, never when a proxy
/// failed (that is the user's network to fix, not the Hub's outage to ride out), and never for an
/// answer that is not the Hub's (a malformed listing is not an outage).
enum HubCacheFallback {
    /// What happened, phrased to open the result's message; nil when the cache must not answer.
    static func reason(toServeCacheAfter failure: DownloadFailure) -> String? {
        if failure.details["proxy"] != nil { return nil }
        if failure.details["errorCode"] == .string("RevisionNotFound") { return nil }
        if case .int(let status)? = failure.details["httpStatus"] {
            guard status >= 500 || [401, 403, 404, 410, 429].contains(status) else { return nil }
            let code = failure.details["errorCode"].flatMap { if case .string(let code) = $0 { return " (\(code))" } else { return nil } } ?? ""
            return "The Hub answered HTTP \(status)\(code)"
        }
        guard failure.kind == .network else { return nil }
        return "The Hub could not be reached (\(failure.message))"
    }
}
