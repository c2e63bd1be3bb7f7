import Foundation

/// What a request to the Hub was about, so an error can say what to do about it.
struct HubErrorContext: Sendable {
    var model: String
    var revision: String
    var endpoint: URL
    /// Whether a token was sent: 401 means "private or missing" without one, "bad token" with one.
    var authenticated: Bool
    /// The file concerned, for `/resolve` requests.
    var file: String?

    var modelPage: String { endpoint.absoluteString.trimmingSuffix("/") + "/" + model }
}

/// Gives the Hub's answers (`X-Error-Code`, `X-Error-Message`, the JSON `error` body) the
/// protocol's error kinds, with messages that say what to do next. Messages never contain the
/// token: they are built from the model id, the endpoint and the Hub's own words.
enum HubFailures {
    static func map(status: Int, headers: HTTPHeaders, body: Data, context: HubErrorContext) -> DownloadFailure {
        let code = headers["X-Error-Code"]
        let said = (headers["X-Error-Message"].map { String($0.prefix(300)) } ?? HTTPFailureMapper.serverMessage(body))
        let quote = said.map { " The Hub said: \($0)" } ?? ""
        let model = context.model
        var details: [String: DownloadFailure.DetailValue] = ["httpStatus": .int(Int64(status))]
        if let code { details["errorCode"] = .string(code) }
        if let file = context.file { details["file"] = .string(file) }

        switch (code, status) {
        case ("GatedRepo", _):
            let what = context.authenticated
                ? "the account of your token has not been granted access yet. Visit \(context.modelPage), accept the conditions (or wait for approval), then retry with that account's token."
                : "request access at \(context.modelPage) (log in and accept the conditions), then pass `token` or set HF_TOKEN to a token of that account."
            return DownloadFailure(.gated, "Model '\(model)' is gated: \(what)", retryable: false, details: details)

        case ("RepoNotFound", 401) where !context.authenticated, (nil, 401) where !context.authenticated:
            // The Hub answers a private repo and a missing one alike when no token is sent.
            return DownloadFailure(.authRequired,
                "Model '\(model)' was not found, or it is private. Check the id (\(context.modelPage)); if it is private, pass `token` or set HF_TOKEN to a token that can read it.",
                retryable: false, details: details)

        case ("RepoNotFound", _):
            return DownloadFailure(.notFound,
                "Model '\(model)' does not exist, or your token cannot read it. Check the id (\(context.modelPage)) and the token's permissions.",
                retryable: false, details: details)

        case ("RevisionNotFound", _):
            return DownloadFailure(.notFound,
                "Revision '\(context.revision)' was not found in model '\(model)'. Use an existing branch, tag or commit (the default is 'main').",
                retryable: false, details: details)

        case ("EntryNotFound", _):
            return DownloadFailure(.notFound,
                "File '\(context.file ?? "?")' was not found in model '\(model)' at revision '\(context.revision)'.",
                retryable: false, details: details)

        case (_, 401):
            return DownloadFailure(.authRequired,
                "The Hub rejected the token (HTTP 401): it is invalid, expired or revoked. Create a new one at \(context.endpoint.absoluteString.trimmingSuffix("/"))/settings/tokens and pass it as `token` or HF_TOKEN.\(quote)",
                retryable: false, details: details)

        case (_, 403):
            return DownloadFailure(.accessDenied,
                "Access to model '\(model)' is denied (HTTP 403). Check that your token has read access to it.\(quote)",
                retryable: false, details: details)

        case (_, 404), (_, 410):
            let subject = context.file.map { "File '\($0)' of model '\(model)'" } ?? "Model '\(model)'"
            return DownloadFailure(.notFound, "\(subject) was not found on the Hub (HTTP \(status)).\(quote)",
                                   retryable: false, details: details)

        case (_, 429):
            let after = RetryPolicy.retryAfter(headers)
            let wait = after.flatMap { $0 >= 1 ? " The Hub asks to wait \(Int($0.rounded(.up))) s." : nil } ?? ""
            return DownloadFailure(.rateLimited,
                "The Hub kept refusing requests for '\(model)' with HTTP 429 (rate limited).\(wait) Retry later; signing in with a token raises the limits.",
                retryAfterSeconds: after, details: details)

        case (_, 500...599):
            return DownloadFailure(.upstream,
                "The Hub failed with HTTP \(status) for '\(model)', also after retries. Try again later.\(quote)",
                retryAfterSeconds: RetryPolicy.retryAfter(headers), details: details)

        default:
            return DownloadFailure(.upstream, "The Hub answered HTTP \(status) for '\(model)'.\(quote)",
                                   retryable: false, details: details)
        }
    }

    static func unreachable(_ endpoint: URL, reason: String) -> DownloadFailure {
        DownloadFailure(.network,
            "Cannot reach the Hub at \(endpoint.redactedForLogs): \(reason). Check the connection (or HF_ENDPOINT); to use only what is cached, set HF_HUB_OFFLINE=1.")
    }
}

fileprivate extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
