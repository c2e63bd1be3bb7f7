import Foundation

/// Gives an HTTP error status a meaning a client can act on, for servers with no richer
/// vocabulary of their own (providers with one, like the Hub, map first and fall back here).
public enum HTTPFailureMapper {
    public static func generic(_ error: HTTPStatusError, url: URL) -> DownloadFailure {
        let status = error.head.status
        let place = url.redactedForLogs
        let said = serverMessage(error.body).map { " The server said: \($0)" } ?? ""
        switch status {
        case 401:
            return DownloadFailure(.authRequired, "\(place) requires authentication (HTTP 401): pass `token`.\(said)")
        case 403:
            return DownloadFailure(.accessDenied, "Access to \(place) is denied (HTTP 403): check the token's permissions.\(said)")
        case 404, 410:
            return DownloadFailure(.notFound, "\(place) was not found (HTTP \(status)): check the URL.\(said)")
        case 429:
            return DownloadFailure(.rateLimited, "\(place) is rate limited (HTTP 429) and kept refusing: try again later.\(said)",
                                   retryAfterSeconds: RetryPolicy.retryAfter(error.head.headers))
        case 500...599:
            return DownloadFailure(.upstream, "The server failed with HTTP \(status) for \(place), also after retries: try again later.\(said)")
        default:
            return DownloadFailure(.upstream, "The server answered HTTP \(status) for \(place).\(said)", retryable: false)
        }
    }

    /// A short plain-text quote of an error body (see `ErrorPageText`).
    public static func serverMessage(_ body: Data) -> String? {
        ErrorPageText.summary(body)
    }
}
