import Foundation

/// The Ollama HTTP routes ModelPull calls, each with Ollama's error bodies read and mapped.
/// Every request goes to the one configured server only; redirects are not followed (a POST
/// must not turn into a GET somewhere else).
struct OllamaAPI: Sendable {
    let http: HTTPClient
    let endpoint: OllamaEndpoint
    /// Sent as `Authorization: Bearer` for servers behind an authenticating proxy.
    let token: String?

    /// Short calls (version, tags, delete) give up after this long without a byte.
    static let shortTimeout: TimeInterval = 10

    private var failures: OllamaFailures { OllamaFailures(model: "", endpoint: endpoint) }

    /// `POST /api/pull {"model", "stream": true, "insecure"?}`.
    ///
    /// The idle timeout is long on purpose: Ollama says nothing while it hashes the new layers
    /// (minutes for big models). Stalls while downloading are caught by `OllamaStallWatch`.
    func pullRequest(model: String, insecure: Bool, stallSeconds: Double) -> HTTPRequest? {
        struct Body: Encodable {
            var model: String
            var stream = true
            var insecure: Bool?
        }
        guard let url = endpoint.url("/api/pull"),
              let body = try? JSONEncoder().encode(Body(model: model, insecure: insecure ? true : nil)) else { return nil }
        return HTTPRequest(url: url, method: "POST", headers: headers(json: true, accept: "application/x-ndjson"),
                           body: body, redirects: .never, idleTimeout: min(max(3600, 4 * stallSeconds), 7 * 24 * 3600))
    }

    /// `GET /api/version` → the server's version.
    func version(timeout: TimeInterval) async throws -> String {
        let response = try await send("/api/version", timeout: timeout)
        guard response.status == 200,
              let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
              let version = object["version"] as? String else {
            throw DownloadFailure(.providerUnavailable,
                "The server at \(endpoint) answered /api/version with HTTP \(response.status) and no version: is it an Ollama server?",
                retryable: false, details: ["baseUrl": .string(endpoint.description)])
        }
        return version
    }

    /// Whether anything answers at the endpoint (any HTTP answer to `/api/version` counts: a
    /// server that refuses it is still a server, whose pull will say what is wrong). The failure
    /// is why nothing answered.
    func listening(timeout: TimeInterval) async -> DownloadFailure? {
        do {
            _ = try await send("/api/version", timeout: timeout)
            return nil
        } catch let failure as DownloadFailure where failure.kind == .providerUnavailable {
            return failure
        } catch {
            return nil
        }
    }

    /// `GET /api/tags` → the models in Ollama's store (re-read from disk on every call).
    func tags() async throws -> OllamaTags {
        let response = try await send("/api/tags", timeout: Self.shortTimeout)
        guard response.status == 200 else { throw failures.httpError(status: response.status, body: response.body) }
        guard let tags = try? JSONDecoder().decode(OllamaTags.self, from: response.body) else {
            throw DownloadFailure(.upstream, "The server at \(endpoint) answered /api/tags with something that is not Ollama's model list.",
                                  retryable: false, details: ["baseUrl": .string(endpoint.description)])
        }
        return tags
    }

    /// `DELETE /api/delete {"model"}`: 200 with an empty body, 404 when there is no such model.
    func delete(_ model: String) async throws {
        let body = try JSONEncoder().encode(["model": model])
        let response = try await send("/api/delete", method: "DELETE", body: body, timeout: Self.shortTimeout)
        switch response.status {
        case 200..<300:
            return
        case 404:
            throw DownloadFailure(.notFound,
                "Ollama at \(endpoint) has no model '\(model)'. models/list with provider \"ollama\" shows what is installed.",
                retryable: false, details: ["baseUrl": .string(endpoint.description)])
        default:
            throw OllamaFailures(model: model, endpoint: endpoint).httpError(status: response.status, body: response.body)
        }
    }

    /// Ollama's models folder as the server sees it, read from the `FROM <models>/blobs/…` line
    /// of `POST /api/show`. Nil when the server does not say (safetensors models, old servers).
    func modelsDirectory(of model: String) async -> String? {
        guard let body = try? JSONEncoder().encode(["model": model]),
              let response = try? await send("/api/show", method: "POST", body: body, timeout: Self.shortTimeout),
              response.status == 200,
              let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
              let modelfile = object["modelfile"] as? String else { return nil }
        for line in modelfile.split(whereSeparator: \.isNewline) where line.hasPrefix("FROM ") {
            let path = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
            for marker in ["/blobs/sha256", "\\blobs\\sha256"] {
                if let range = path.range(of: marker), range.lowerBound > path.startIndex {
                    return String(path[..<range.lowerBound])
                }
            }
        }
        return nil
    }

    // MARK: Plumbing

    private func headers(json: Bool, accept: String = "application/json") -> [String: String] {
        var headers = ["Accept": accept]
        if json { headers["Content-Type"] = "application/json" }
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return headers
    }

    private func send(_ route: String, method: String = "GET", body: Data? = nil,
                      timeout: TimeInterval) async throws -> HTTPResponse {
        guard let url = endpoint.url(route) else { throw failures.unusableEndpoint() }
        let request = HTTPRequest(url: url, method: method, headers: headers(json: body != nil), body: body,
                                  redirects: .never, idleTimeout: timeout)
        do {
            return try await http.send(request, maxBodyBytes: 16 << 20)
        } catch let error as TransferError {
            if case .responseTooLarge(let limit) = error {
                throw DownloadFailure(.upstream, "The server at \(endpoint) answered \(route) with more than \(limit) bytes.",
                                      retryable: false, details: ["baseUrl": .string(endpoint.description)])
            }
            throw error.settingsFailure ?? failures.unreachable(Self.describe(error))
        }
    }

    /// Transport errors in words for messages.
    static func describe(_ error: TransferError) -> String {
        switch error {
        case .network(let text): return text
        case .stalled(let seconds): return "no answer within \(Int(seconds)) s"
        case .truncated(let expected, let received): return "the body ended after \(received) of \(expected) bytes"
        case .tooManyRedirects: return "too many redirects"
        case .responseTooLarge(let limit): return "more than \(limit) bytes"
        case .protocolViolation(let text), .unacceptableResponse(let text): return text
        case .headTimedOut(let seconds): return "no complete answer within \(Int(seconds)) s"
        case .tooSlow(let bytes, let seconds): return "only \(bytes) bytes in \(Int(seconds)) s"
        case .unsupportedURL(let url): return "unsupported URL \(url)"
        case .proxyFailed(let proxy, let reason): return "the proxy \(proxy) failed: \(reason)"
        case .untrustedCertificate(let host, let reason, _): return "the certificate of \(host) is not trusted (\(reason))"
        }
    }
}
