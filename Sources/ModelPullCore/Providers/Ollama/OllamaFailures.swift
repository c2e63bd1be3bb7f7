import Foundation

/// Turns what Ollama says (an `{"error": …}` line, a 4xx/5xx JSON body, a refused connection)
/// into a `DownloadFailure` of the right kind, with a message that says what to do.
///
/// Ollama reports most pull failures as free text under HTTP 200, so the kind comes from the
/// wording, matched on the phrases its code produces (see reference/ollama.md §1). Ollama's own
/// words are always quoted and kept in `details.ollamaError`.
struct OllamaFailures {
    let model: String
    let endpoint: OllamaEndpoint

    /// Ollama's text is quoted up to this many characters (a registry body can be long).
    private static let quoteLimit = 500

    // MARK: What Ollama said

    /// An error Ollama reported for this pull.
    func pullError(_ text: String) -> DownloadFailure {
        let said = String(text.prefix(Self.quoteLimit))
        let lower = said.lowercased()
        let quote = "Ollama said: \(said)"
        func failure(_ kind: ErrorKind, _ message: String, retryable: Bool? = nil) -> DownloadFailure {
            DownloadFailure(kind, message, retryable: retryable,
                            details: ["ollamaError": .string(said), "baseUrl": .string(endpoint.description)])
        }
        if lower.contains("no space left on device") {
            return failure(.diskFull, "The disk holding Ollama's models is full while pulling \(model) (\(quote)). Free space there (or move OLLAMA_MODELS), then pull again: the layers already downloaded are kept.")
        }
        if lower.contains("digest mismatch") {
            return failure(.integrity, "A layer of \(model) arrived damaged and Ollama deleted it (\(quote)). Pulling again downloads it afresh.", retryable: true)
        }
        if lower.contains(": 412:") || lower.contains("newer version of ollama") {
            return failure(.upstream, "\(model) needs a newer Ollama than the server at \(endpoint) runs (\(quote)). Update Ollama (https://ollama.com/download) and restart the server; an old `ollama serve` still running is a common cause.", retryable: false)
        }
        if lower.contains("file does not exist") || lower.contains("tag is not available") {
            return failure(.notFound, "The registry has no model '\(model)' (\(quote)). Check the name and the tag: https://ollama.com/library lists Ollama's models; for hf.co/… names the tag is a quantization the repository offers.", retryable: false)
        }
        if lower.contains("invalid model name") || lower.contains("is invalid") {
            return failure(.invalidModel, "Ollama refuses the name '\(model)' (\(quote)). Use [host/][namespace/]model[:tag], like llama3.2:1b.", retryable: false)
        }
        if lower.contains("insecure protocol") {
            return failure(.invalidModel, "'\(model)' names a plain-http registry, which Ollama refuses unless told otherwise (\(quote)). Pass `insecure: true` if you trust it.", retryable: false)
        }
        if lower.contains("unauthorized") || lower.contains("access denied") || lower.contains(": 401:") || lower.contains(": 403:") {
            return failure(.authRequired, "The registry refused Ollama access to \(model) (\(quote)). Private models need the Ollama server's public key (~/.ollama/id_ed25519.pub of the user running it) added to your account on that registry.", retryable: false)
        }
        if lower.contains(": 429:") || lower.contains("too many requests") {
            return failure(.rateLimited, "The registry is rate limiting Ollama (\(quote)). Try again later.")
        }
        if Self.networkPhrases.contains(where: lower.contains) {
            return failure(.network, "Ollama could not download \(model) from its registry (\(quote)). Check the Ollama server's network or proxy (HTTPS_PROXY must be set for `ollama serve` itself); layers already downloaded stay in Ollama's store, so pulling again resumes.")
        }
        if lower.contains("sharded gguf") {
            return failure(.upstream, "Ollama cannot pull \(model) (\(quote)). Pick a quantization that is a single GGUF file.", retryable: false)
        }
        return failure(.upstream, "Ollama failed to pull \(model) (\(quote)).")
    }

    private static let networkPhrases = [
        "max retries exceeded", "i/o timeout", "no such host", "connection refused", "connection reset",
        "tls handshake timeout", "unexpected eof", ": eof", "dial tcp", "network is unreachable",
        "context deadline exceeded", "timeout awaiting response headers",
    ]

    /// A pull answered with an HTTP error status instead of a stream.
    func httpError(status: Int, body: Data?) -> DownloadFailure {
        let text = body.flatMap(HTTPFailureMapper.serverMessage)
        switch status {
        case 400, 500:
            // Ollama's own errors: 400 for a bad body or name, 500 for an error in non-streaming
            // mode or an insecure registry. Both carry {"error": …}; the words decide.
            if let text { return pullError(text) }
            return DownloadFailure(.upstream, "Ollama at \(endpoint) answered HTTP \(status) to the pull of \(model) without saying why.",
                                   retryable: status >= 500, details: ["httpStatus": .int(Int64(status))])
        case 401, 403:
            return DownloadFailure(status == 401 ? .authRequired : .accessDenied,
                "The server at \(endpoint) refused the request (HTTP \(status))\(text.map { ": \($0)" } ?? ""). If Ollama runs behind an authenticating proxy, pass its token as `token`.",
                retryable: false, details: ["httpStatus": .int(Int64(status))])
        case 404, 405:
            return DownloadFailure(.providerUnavailable,
                "The server at \(endpoint) (\(endpoint.origin)) has no Ollama API (HTTP \(status) for /api/pull): is it an Ollama server, and is the path right?",
                retryable: false, details: ["httpStatus": .int(Int64(status)), "baseUrl": .string(endpoint.description)])
        case 300...399:
            return DownloadFailure(.providerUnavailable,
                "The server at \(endpoint) redirects its API (HTTP \(status)): set `baseUrl` or OLLAMA_HOST to the address Ollama itself answers on.",
                retryable: false, details: ["httpStatus": .int(Int64(status))])
        default:
            return DownloadFailure(status == 429 ? .rateLimited : .upstream,
                "The server at \(endpoint) answered HTTP \(status) to the pull of \(model)\(text.map { ": \($0)" } ?? ""). Try again later.",
                details: ["httpStatus": .int(Int64(status))])
        }
    }

    // MARK: What went wrong around Ollama

    /// No answer at all: nothing listens there (refused), the name does not resolve, or the
    /// server never sent a response head.
    func unreachable(_ detail: String) -> DownloadFailure {
        DownloadFailure(.providerUnavailable,
            "Cannot reach Ollama: is Ollama running at \(endpoint) (\(endpoint.origin))? Start it with `ollama serve`. (\(detail))",
            details: ["baseUrl": .string(endpoint.description)])
    }

    /// The endpoint cannot be used for HTTP at all (`OLLAMA_HOST=ftp://…`, a host with spaces).
    func unusableEndpoint() -> DownloadFailure {
        DownloadFailure(.providerUnavailable,
            "'\(endpoint)' (\(endpoint.origin)) is not an http(s) address ModelPull can connect to: set it like http://127.0.0.1:11434.",
            retryable: false, details: ["baseUrl": .string(endpoint.description)])
    }

    /// The connection broke after the pull had started.
    func streamBroken(_ detail: String, lastStatus: String?) -> DownloadFailure {
        DownloadFailure(.network,
            "The connection to Ollama at \(endpoint) broke during the pull of \(model)\(lastStatus.map { " (last status: \($0))" } ?? "") before it reported success: \(detail). Layers downloaded so far stay in Ollama's store; pulling again resumes.",
            details: ["baseUrl": .string(endpoint.description)])
    }

    /// The stream ended cleanly but never said `success`.
    func endedWithoutSuccess(lastStatus: String?) -> DownloadFailure {
        DownloadFailure(.network,
            "Ollama's pull stream for \(model) ended before reporting success\(lastStatus.map { " (last status: \($0))" } ?? ", without a single status"). Layers downloaded so far stay in Ollama's store; pulling again resumes.",
            details: ["baseUrl": .string(endpoint.description)])
    }

    /// The server sent something that is not Ollama's NDJSON (an HTML page from a proxy, say).
    func notOllama(_ sample: Data) -> DownloadFailure {
        let text = String(decoding: sample.prefix(120), as: UTF8.self)
        return DownloadFailure(.upstream,
            "The server at \(endpoint) answered the pull with something that is not Ollama's progress stream: \(text.debugDescription). Is `baseUrl` / OLLAMA_HOST an Ollama server?",
            retryable: false, details: ["baseUrl": .string(endpoint.description)])
    }

    /// Ollama's stream shape with numbers no Ollama reports (absurd sizes, endless layers).
    func implausible(_ what: String) -> DownloadFailure {
        DownloadFailure(.upstream,
            "The server at \(endpoint) reported \(what) while pulling \(model), which no Ollama model has; giving up on it. Is `baseUrl` / OLLAMA_HOST an Ollama server?",
            retryable: false, details: ["baseUrl": .string(endpoint.description)])
    }

    func lineTooLong(limit: Int) -> DownloadFailure {
        DownloadFailure(.upstream, "Ollama at \(endpoint) sent a progress line longer than \(limit) bytes; giving up on it.",
                        retryable: false, details: ["baseUrl": .string(endpoint.description)])
    }

    func stalled(seconds: Int, limit: Double) -> DownloadFailure {
        DownloadFailure(.network,
            "The pull of \(model) stalled: Ollama reported no new bytes for \(seconds) s. Layers downloaded so far stay in Ollama's store; pulling again resumes (raise `stallSeconds`, now \(Self.seconds(limit)), for very slow links).",
            details: ["stalledSeconds": .int(Int64(seconds)), "baseUrl": .string(endpoint.description)])
    }

    func cancelled() -> DownloadFailure {
        .cancelled("Pull of \(model) cancelled: the request to Ollama was closed. Layers downloaded so far stay in Ollama's store, and pulling the same model again resumes them.")
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }
}
