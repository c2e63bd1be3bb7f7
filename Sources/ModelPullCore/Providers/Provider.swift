import Foundation

/// A source of models. Each provider turns a `DownloadRequest` into files on disk, reporting
/// through the job's `JobProgress`, and throws `DownloadFailure` for anything a client can act on.
///
/// Providers plan first (resolve the model, list files, sizes and digests, pick the destination),
/// then fetch; they must stop promptly when their task is cancelled, leaving partial files
/// resumable.
public protocol Provider: Sendable {
    /// The protocol name (`huggingface`, `mlx`, `ollama`, `url`).
    var name: String { get }
    /// One line for `providers/list`.
    var summary: String { get }

    /// Whether the provider can serve requests right now (an Ollama server answering, say).
    func availability(in context: ProviderContext) async -> ProviderAvailability

    /// Cheap checks that need no network, run before a job is queued, so a malformed model id is
    /// an immediate `invalid_model` error rather than a queued job that fails later.
    func validate(_ request: DownloadRequest) throws(DownloadFailure)

    func download(_ request: DownloadRequest, context: DownloadContext) async throws -> DownloadResult

    /// Credentials this request will use (the request's `token`, and any the provider finds in
    /// the environment). Whatever the job reports is scrubbed of them, because a server may
    /// quote a credential back in an error message.
    func secrets(for request: DownloadRequest, environment: ProcessEnvironment) -> [String]
}

extension Provider {
    public func secrets(for request: DownloadRequest, environment: ProcessEnvironment) -> [String] {
        [request.token].compactMap { $0 }
    }
}

public struct ProviderAvailability: Sendable, Equatable {
    public var available: Bool
    public var reason: String?
    public var version: String?
    public var baseURL: String?

    public init(available: Bool, reason: String? = nil, version: String? = nil, baseURL: String? = nil) {
        self.available = available
        self.reason = reason
        self.version = version
        self.baseURL = baseURL
    }
}

/// What every provider may use, shared by all jobs.
public struct ProviderContext: Sendable {
    public var environment: ProcessEnvironment
    public var http: HTTPClient
    public var log: LogSink

    public init(environment: ProcessEnvironment, http: HTTPClient, log: LogSink) {
        self.environment = environment
        self.http = http
        self.log = log
    }
}

/// What one job's provider works with.
public struct DownloadContext: Sendable {
    public var shared: ProviderContext
    public var progress: JobProgress
    public var downloadId: String

    public var environment: ProcessEnvironment { shared.environment }
    public var http: HTTPClient { shared.http }
    public var log: LogSink { shared.log }
}

/// The providers this build knows, in the order `providers/list` shows them.
public struct ProviderRegistry: Sendable {
    public let providers: [any Provider]

    public init(_ providers: [any Provider]) {
        self.providers = providers
    }

    public func provider(named name: String) -> (any Provider)? {
        providers.first { $0.name == name }
    }

    public var names: [String] { providers.map(\.name) }
}

/// A provider the protocol names but this build does not implement yet. It is listed as
/// unavailable and refuses downloads with a clear error, never silently accepting them.
public struct UnavailableProvider: Provider {
    public let name: String
    public let summary: String
    let reason: String

    public init(name: String, summary: String, reason: String) {
        self.name = name
        self.summary = summary
        self.reason = reason
    }

    public func availability(in context: ProviderContext) async -> ProviderAvailability {
        ProviderAvailability(available: false, reason: reason)
    }

    public func validate(_ request: DownloadRequest) throws(DownloadFailure) {
        throw DownloadFailure(.unsupportedProvider, "Provider '\(name)' is not available in this build: \(reason)")
    }

    public func download(_ request: DownloadRequest, context: DownloadContext) async throws -> DownloadResult {
        throw DownloadFailure(.unsupportedProvider, "Provider '\(name)' is not available in this build: \(reason)")
    }
}
