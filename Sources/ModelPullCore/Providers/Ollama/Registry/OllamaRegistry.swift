import Foundation

/// One model's repository on an Ollama registry (`registry.ollama.ai`, `hf.co`, or the host a
/// name carries), spoken to as Ollama speaks to it (`server/images.go`, `server/download.go`):
/// the manifest with Docker's v2 media type, blobs by digest (the registry answers with a
/// redirect to its CDN). Public models need no credential; nothing is sent that could be one.
struct OllamaRegistry: Sendable {
    let http: HTTPClient
    let name: OllamaModelName
    let display: String
    /// `{scheme}://{host}/v2/{namespace}/{model}`.
    let base: URL
    let retry: RetryPolicy

    /// `insecure` permits plain http, as `ollama pull --insecure` does.
    init(http: HTTPClient, name: OllamaModelName, display: String, insecure: Bool, retry: RetryPolicy = .standard) throws(DownloadFailure) {
        let scheme = insecure ? "http" : "https"
        guard let base = URL(string: "\(scheme)://\(name.host)/v2/\(name.namespace)/\(name.model)") else {
            throw DownloadFailure(.invalidModel, "'\(display)' does not make a registry address.", retryable: false)
        }
        self.http = http
        self.name = name
        self.display = display
        self.base = base
        self.retry = retry
    }

    /// Ollama's own form (`ollama/<version> (<arch> <os>) Go/<version>`, `server/images.go`) with
    /// ours after it: a registry may shape its answer by client (hf.co adds fields for llama.cpp),
    /// and the manifest bytes are stored as received, so ask as Ollama asks to store what it stores.
    var userAgent: String {
        #if arch(arm64)
        let arch = "arm64"
        #else
        let arch = "amd64"
        #endif
        #if os(macOS)
        let os = "darwin"
        #else
        let os = "linux"
        #endif
        return "ollama/\(Self.ollamaVersion) (\(arch) \(os)) Go/go1.24.1 \(http.userAgent)"
    }

    /// The Ollama release whose registry protocol this speaks (`../reference/ollama-registry.md`).
    static let ollamaVersion = "0.33.0"

    func blobURL(_ digest: OllamaDigest) -> URL { base.appendingPathComponent("blobs").appendingPathComponent(digest.text) }

    /// Where a blob's bytes are: the registry answers its blob URL with a redirect to a CDN, which
    /// Ollama asks once and then fetches every part from directly. Asked the same way here, so
    /// the parallel ranges go to the CDN instead of each bouncing off the registry first; a
    /// registry that serves the blob itself keeps the blob URL.
    func blobLocation(_ digest: OllamaDigest) async -> URL {
        let url = blobURL(digest)
        let request = HTTPRequest(url: url, method: "HEAD", headers: ["User-Agent": userAgent], redirects: .never, idleTimeout: 30)
        guard let response = try? await http.send(request, maxBodyBytes: 64 << 10),
              [301, 302, 303, 307, 308].contains(response.status), let location = response.headers["Location"],
              let target = URL(string: location, relativeTo: url)?.absoluteURL,
              let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https" else { return url }
        return target
    }

    /// The manifest for the name's tag. 404 is `not_found` naming what was tried; 401/403 is
    /// `auth_required` (private models need a signed-in Ollama server); 429, 5xx and dropped
    /// connections are retried, then `rate_limited`, `upstream` or `network`.
    func manifest(onRetry: @escaping @Sendable (String) -> Void) async throws -> OllamaManifest {
        let url = base.appendingPathComponent("manifests").appendingPathComponent(name.tag)
        let request = HTTPRequest(url: url, headers: ["Accept": OllamaManifest.mediaType, "User-Agent": userAgent],
                                  redirects: .follow, idleTimeout: 30)
        let requester = APIRequester(http: http, retry: retry, peer: "the registry at \(name.host)", unreachable: { reason in
            DownloadFailure(.network, "Cannot reach the registry at \(name.host) for \(display): \(reason). Check the name's host and the network.")
        }, onRetry: onRetry)
        let response = try await requester.send(request, maxBodyBytes: 4 << 20)
        switch response.status {
        case 200..<300:
            return try OllamaManifest(response.body, name: display)
        case 400 where ErrorPageText.summary(response.body)?.lowercased().contains("tag") ?? false:
            // hf.co answers an unknown quant with 400 "The specified tag is not available…".
            throw DownloadFailure(.notFound,
                "No tag \(name.tag) for \(display) at \(name.host) (tried \(url.redactedForLogs)): \(ErrorPageText.summary(response.body) ?? "").",
                retryable: false, details: ["tried": .string(url.redactedForLogs)])
        case 404:
            throw DownloadFailure(.notFound,
                "No model \(display) in the registry at \(name.host) (tried \(url.redactedForLogs)): check the name and the tag.",
                retryable: false, details: ["tried": .string(url.redactedForLogs)])
        case 401, 403:
            throw DownloadFailure(.authRequired,
                "The registry at \(name.host) wants a sign-in for \(display): it is private, or needs Ollama's key. Pull it with `source: \"server\"` through an Ollama server signed in to that registry.",
                retryable: false)
        default:
            throw HTTPFailureMapper.generic(HTTPStatusError(head: response.head, body: response.body), url: url)
        }
    }
}
