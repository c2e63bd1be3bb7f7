import Foundation

/// A source of models: one folder under `Providers/`, one line in `ProviderRegistry.builtIn`.
///
/// A provider reads a request once, without the network, into a typed plan (`prepare`), so a
/// malformed model id is an immediate `invalid_model` error rather than a queued job that fails
/// later; the engine then queues the plan and runs it. Everything a provider reports goes
/// through the job's `JobProgress`, and anything a client can act on is a `DownloadFailure`.
public protocol Provider: Sendable {
    /// The protocol name (`huggingface`, `mlx`, `ollama`, `url`).
    var name: String { get }
    /// One line for `providers/list` and the command line's help.
    var summary: String { get }
    /// The request parameters this provider reads besides `provider` and `model`.
    var parameters: Set<DownloadParameter> { get }

    /// Whether the provider can serve requests right now (an Ollama server answering, say).
    func availability(in context: ProviderContext) async -> ProviderAvailability

    /// Parses and checks `request` without the network; the plan is what the job runs.
    func prepare(_ request: DownloadRequest, context: ProviderContext) throws(DownloadFailure) -> any DownloadPlan
}

/// One request as its provider understood it, ready to run as a job. Plans plan first (resolve
/// the model, list files, sizes and digests, pick the destination), then fetch; they stop
/// promptly when their task is cancelled, leaving partial files resumable.
public protocol DownloadPlan: Sendable {
    /// Credentials the job will use (the request's `token`, and any the provider finds in the
    /// environment). Whatever the job reports is scrubbed of them, because a server may quote a
    /// credential back in an error message.
    var secrets: [String] { get }

    func run(_ context: DownloadContext) async throws -> DownloadResult
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

/// What one job's plan works with.
public struct DownloadContext: Sendable {
    public var shared: ProviderContext
    public var progress: JobProgress
    public var downloadId: String

    public init(shared: ProviderContext, progress: JobProgress, downloadId: String) {
        self.shared = shared
        self.progress = progress
        self.downloadId = downloadId
    }

    public var environment: ProcessEnvironment { shared.environment }
    public var http: HTTPClient { shared.http }
    public var log: LogSink { shared.log }
}
