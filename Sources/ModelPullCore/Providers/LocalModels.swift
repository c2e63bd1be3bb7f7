import Foundation

/// A model present on this machine, as `models/list` reports it.
public struct LocalModel: Sendable, Equatable {
    public struct Revision: Sendable, Equatable {
        public var revision: String?
        public var commit: String
        public var files: Int
        public var sizeBytes: Int64
        public init(revision: String?, commit: String, files: Int, sizeBytes: Int64) {
            self.revision = revision
            self.commit = commit
            self.files = files
            self.sizeBytes = sizeBytes
        }
    }

    public var provider: String
    public var model: String
    public var path: String?
    public var sizeBytes: Int64
    /// False when files are missing or only partially downloaded.
    public var complete: Bool
    public var revisions: [Revision]?
    public var digest: String?
    public var modifiedAt: Date?
    /// Provider-specific facts (Ollama's family and quantization, say).
    public var details: [String: DownloadFailure.DetailValue]

    public init(provider: String, model: String, path: String? = nil, sizeBytes: Int64, complete: Bool,
                revisions: [Revision]? = nil, digest: String? = nil, modifiedAt: Date? = nil,
                details: [String: DownloadFailure.DetailValue] = [:]) {
        self.provider = provider
        self.model = model
        self.path = path
        self.sizeBytes = sizeBytes
        self.complete = complete
        self.revisions = revisions
        self.digest = digest
        self.modifiedAt = modifiedAt
        self.details = details
    }
}

/// Where to look for local models: the request's `cacheDir`/`baseUrl`, else the environment's.
public struct LocalModelQuery: Sendable {
    public var cacheDir: String?
    public var baseURL: String?
    public init(cacheDir: String? = nil, baseURL: String? = nil) {
        self.cacheDir = cacheDir
        self.baseURL = baseURL
    }
}

public struct DeletionResult: Sendable, Equatable {
    public var deleted: Bool
    public var freedBytes: Int64?
    public var message: String?
    public init(deleted: Bool, freedBytes: Int64? = nil, message: String? = nil) {
        self.deleted = deleted
        self.freedBytes = freedBytes
        self.message = message
    }
}

/// Providers that keep models on this machine implement these; the defaults say the provider
/// keeps no list of its own (the url provider writes plain files where it is told).
public protocol LocalModelStore: Sendable {
    func listLocalModels(_ query: LocalModelQuery, context: ProviderContext) async throws -> [LocalModel]
    func deleteLocalModel(_ model: String, query: LocalModelQuery, context: ProviderContext) async throws -> DeletionResult
}

extension ProviderRegistry {
    /// The stores `models/list` and `models/delete` ask: the provider named, or every provider
    /// that keeps one.
    public func localModelStores(named name: String?) throws(DownloadFailure) -> [(name: String, store: any LocalModelStore)] {
        guard let name else {
            return providers.compactMap { provider in (provider as? any LocalModelStore).map { (provider.name, $0) } }
        }
        guard let provider = provider(named: name) else {
            throw DownloadFailure(.unsupportedProvider, "Unknown provider '\(name)'. Use one of: \(names.joined(separator: ", ")).")
        }
        guard let store = provider as? any LocalModelStore else {
            throw DownloadFailure(.unsupportedProvider,
                "Provider '\(name)' keeps no local model list; its files are where each download put them.")
        }
        return [(name, store)]
    }
}
