import Foundation

/// Sends one small API request (the Hub's JSON and `/resolve` HEADs, a registry's manifest) with
/// the retry rules huggingface_hub uses: 408/429/5xx and dropped connections are retried with
/// backoff; `Retry-After` and the `RateLimit` header's reset time are honoured up to the
/// policy's limit (a longer wait returns the answer, so the caller reports `rate_limited` with
/// it). The last answer is returned as is so the caller can give it a meaning; only transport
/// failures that never cleared are thrown, as `unreachable(reason)` says.
struct APIRequester: Sendable {
    let http: HTTPClient
    let retry: RetryPolicy
    /// The server as messages name it: "the Hub", "the registry at registry.ollama.ai".
    let peer: String
    let unreachable: @Sendable (_ reason: String) -> DownloadFailure
    let onRetry: @Sendable (String) -> Void

    /// The largest API answer accepted. The Hub's are small (a tree page of 1,000 entries is a
    /// few hundred kB; a revision's sibling list for 100k files about 5 MB), and a bigger one is
    /// refused while it arrives: URLSession reads ahead of us, so what is in memory when we stop
    /// is a few times this.
    static let maxBodyBytes = 16 << 20

    func send(_ request: HTTPRequest, maxBodyBytes: Int = APIRequester.maxBodyBytes) async throws -> HTTPResponse {
        var failures = ConsecutiveFailures(retry)
        while true {
            try Task.checkCancellation()
            let reason: String
            var wait: Double?
            do {
                let response = try await http.send(request, maxBodyBytes: maxBodyBytes)
                guard RetryPolicy.isRetryable(status: response.status) else { return response }
                if let after = RetryPolicy.retryAfter(response.headers) {
                    // Longer than we are willing to sleep: the caller reports rate_limited with it.
                    if after > retry.maxRetryAfter { return response }
                    wait = after
                }
                guard failures.record() else { return response }
                reason = "\(peer) answered HTTP \(response.status)"
            } catch let error as TransferError {
                switch error {
                case .stalled(let seconds), .headTimedOut(let seconds):
                    reason = "no answer for \(Int(seconds)) s"
                case .tooSlow(let bytes, let seconds):
                    reason = "only \(bytes) bytes arrived in \(Int(seconds)) s"
                case .network(let why):
                    reason = "the connection failed (\(why))"
                case .truncated, .protocolViolation:
                    reason = "the answer was cut short"
                case .responseTooLarge(let limit):
                    throw DownloadFailure(.upstream,
                        "The answer of \(peer) from \(request.url.redactedForLogs) is larger than \(ByteFormat.string(Int64(limit))); is that really \(peer)?",
                        retryable: false)
                case .tooManyRedirects, .unsupportedURL, .unacceptableResponse:
                    throw DownloadFailure(.upstream, "Cannot fetch \(request.url.redactedForLogs): \(error).", retryable: false)
                case .proxyFailed, .untrustedCertificate:
                    throw error.settingsFailure!
                }
                guard failures.record() else { throw unreachable(reason) }
            }
            let pause = failures.pause(reason, serverWait: wait)
            onRetry(pause.message)
            try await Task.sleep(for: .seconds(pause.seconds))
        }
    }
}
