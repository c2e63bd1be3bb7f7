import Foundation

/// Everything a Hub download takes from the request and the environment, resolved once, with
/// huggingface_hub's precedence so the two tools behave alike on the same machine.
struct HubSettings: Sendable {
    /// `baseUrl`, else `HF_ENDPOINT`, else https://huggingface.co; no trailing slash.
    var endpoint: URL
    /// Never logged, never put in a message, sent only to `endpoint`'s origin.
    var token: String?
    /// `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`): no network at all, the cache must do.
    var offline: Bool
    var destination: any HubDestination
    /// How long a metadata call (revision, listing, file location) may stay silent:
    /// `HF_HUB_ETAG_TIMEOUT`, huggingface_hub's name for it, else 30 s.
    var metadataTimeout: TimeInterval
    /// How long a file body may stay silent: `stallSeconds`, else `HF_HUB_DOWNLOAD_TIMEOUT`, else 30 s.
    var downloadTimeout: TimeInterval

    static let defaultEndpoint = "https://huggingface.co"

    init(request: DownloadRequest, repoId: String, environment: ProcessEnvironment) throws(DownloadFailure) {
        endpoint = try Self.endpoint(request.baseURL, environment)
        token = Self.token(request.token, environment)
        offline = environment.flag("HF_HUB_OFFLINE") || environment.flag("TRANSFORMERS_OFFLINE")
        metadataTimeout = Self.seconds(environment["HF_HUB_ETAG_TIMEOUT"]) ?? 30
        downloadTimeout = request.stallSeconds ?? Self.seconds(environment["HF_HUB_DOWNLOAD_TIMEOUT"]) ?? 30
        if let localDir = request.localDir {
            destination = HubLocalDirDestination(folder: HubLocalDir(root: HubCacheLocation.expand(localDir, environment)))
        } else {
            let root = HubCacheLocation.hubCache(environment, override: request.cacheDir)
            var repo = HubCacheRepo(cacheRoot: root, repoId: repoId)
            repo.symlinksDisabled = environment.flag("HF_HUB_DISABLE_SYMLINKS")
            destination = HubCacheDestination(repo: repo)
        }
    }

    /// A positive number of seconds, as huggingface_hub reads its timeout variables; anything
    /// else leaves the default.
    static func seconds(_ text: String?) -> TimeInterval? {
        guard let value = text.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }), value > 0, value.isFinite else { return nil }
        return value
    }

    static func endpoint(_ baseURL: String?, _ environment: ProcessEnvironment) throws(DownloadFailure) -> URL {
        let raw = baseURL ?? environment["HF_ENDPOINT"] ?? defaultEndpoint
        var text = raw.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty, url.query == nil else {
            let source = baseURL != nil ? "`baseUrl`" : "HF_ENDPOINT"
            throw DownloadFailure(.invalidModel,
                "\(source) must be an http(s) URL of a Hub, like https://huggingface.co or a mirror; got \(raw.debugDescription).")
        }
        return url
    }

    /// `token`, else `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the token file that
    /// `hf auth login` writes. `HF_HUB_DISABLE_IMPLICIT_TOKEN` keeps the stored ones unused.
    static func token(_ explicit: String?, _ environment: ProcessEnvironment) -> String? {
        if let explicit = explicit?.trimmingCharacters(in: .whitespacesAndNewlines), !explicit.isEmpty { return explicit }
        if environment.flag("HF_HUB_DISABLE_IMPLICIT_TOKEN") { return nil }
        if let token = environment["HF_TOKEN"] ?? environment["HUGGING_FACE_HUB_TOKEN"] {
            let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { return trimmed }
        }
        guard let data = FileManager.default.contents(atPath: HubCacheLocation.tokenFile(environment)),
              let text = String(data: data, encoding: .utf8) else { return nil }
        let stored = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return stored.isEmpty ? nil : stored
    }

    /// Credentials that must never appear in a name from the server (see `SafePath.validate`).
    var secrets: [String] { token.map { [$0] } ?? [] }

    /// The header carrying the token; only ever attached to requests for `endpoint`'s origin.
    var authorization: [String: String] {
        token.map { ["Authorization": "Bearer \($0)"] } ?? [:]
    }

    /// `{endpoint}/{path}` where `path` is already percent-encoded.
    func url(_ encodedPath: String) -> URL? {
        URL(string: endpoint.absoluteString + "/" + encodedPath)
    }
}

/// Percent-encoding as huggingface_hub does it: `quote(path)` keeps `/`, `quote(rev, safe="")`
/// encodes it too (`refs/pr/1` → `refs%2Fpr%2F1`).
enum HubURLEncoding {
    private static let unreserved: CharacterSet = {
        var set = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        set.insert(charactersIn: "-._~")
        return set
    }()

    /// Percent-encodes every byte but the unreserved ones and `/`, so the path is split exactly
    /// where the filesystem splits it (on the byte `/`, not on a grapheme boundary).
    static func path(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: unreservedAndSlash) ?? path
    }

    private static let unreservedAndSlash: CharacterSet = unreserved.union(CharacterSet(charactersIn: "/"))

    static func segment<S: StringProtocol>(_ text: S) -> String {
        String(text).addingPercentEncoding(withAllowedCharacters: unreserved) ?? String(text)
    }
}
