/// One `models/download` request, already validated for types by the RPC layer.
public struct DownloadRequest: Sendable, Hashable {
    public var provider: String
    public var model: String
    public var revision: String?
    public var include: [String]
    public var exclude: [String]
    /// Never logged, never part of `description`, never part of the single-flight key.
    public var token: String?
    public var baseURL: String?
    public var cacheDir: String?
    public var localDir: String?
    public var connections: Int?
    public var sha256: String?
    public var fileName: String?
    public var stallSeconds: Double?
    public var insecure: Bool

    public init(provider: String, model: String, revision: String? = nil, include: [String] = [],
                exclude: [String] = [], token: String? = nil, baseURL: String? = nil,
                cacheDir: String? = nil, localDir: String? = nil, connections: Int? = nil,
                sha256: String? = nil, fileName: String? = nil, stallSeconds: Double? = nil,
                insecure: Bool = false) {
        self.provider = provider
        self.model = model
        self.revision = revision
        self.include = include
        self.exclude = exclude
        self.token = token
        self.baseURL = baseURL
        self.cacheDir = cacheDir
        self.localDir = localDir
        self.connections = connections
        self.sha256 = sha256
        self.fileName = fileName
        self.stallSeconds = stallSeconds
        self.insecure = insecure
    }

    /// Two requests with the same key share one job (single-flight). The token is left out on
    /// purpose: it changes who may download, not what lands on disk.
    public var singleFlightKey: String {
        var parts = [provider, model, revision ?? "", include.joined(separator: "\u{1}"),
                     exclude.joined(separator: "\u{1}"), baseURL ?? "", cacheDir ?? "",
                     localDir ?? "", sha256?.lowercased() ?? "", fileName ?? ""]
        parts.append(insecure ? "insecure" : "")
        return parts.joined(separator: "\u{0}")
    }
}
