import Foundation

/// `provider: "ollama"`: pulls through a running Ollama server, which stores the model where
/// `ollama run` finds it. ModelPull reads Ollama's progress stream and reports it in its own
/// shape: layer bytes summed, never going back, one terminal event.
///
/// The server is the request's `baseUrl`, else `OLLAMA_HOST` (read as Ollama reads it), else
/// http://127.0.0.1:11434. `models/list` and `models/delete` go through the same server.
public struct OllamaProvider: Provider, LocalModelStore {
    public let name = "ollama"
    public let summary = "Pulls through a running Ollama server (its own store, progress summed over layers)"
    public let parameters: Set<DownloadParameter> = [.token, .baseUrl, .insecure, .stallSeconds, .source]

    /// How long providers/list waits for `/api/version` before calling the server absent.
    static let probeTimeout: TimeInterval = 3

    public init() {}

    public func availability(in context: ProviderContext) async -> ProviderAvailability {
        let endpoint = OllamaEndpoint.resolve(baseURL: nil, environment: context.environment)
        let api = OllamaAPI(http: context.http, endpoint: endpoint, token: nil)
        do {
            let version = try await api.version(timeout: Self.probeTimeout)
            return ProviderAvailability(available: true, version: version, baseURL: endpoint.description)
        } catch let failure as DownloadFailure {
            let store = OllamaStore(environment: context.environment)
            return ProviderAvailability(available: false,
                reason: failure.message + " Without a server, `source: \"registry\"` pulls straight into the store at \(store.root).",
                baseURL: endpoint.description)
        } catch {
            return ProviderAvailability(available: false, reason: "\(error)", baseURL: endpoint.description)
        }
    }

    public func prepare(_ request: DownloadRequest, context: ProviderContext) throws(DownloadFailure) -> any DownloadPlan {
        let name = try Self.checkName(request.model)
        return OllamaPullPlan(request: request, name: name)
    }

    // MARK: LocalModelStore

    /// Through the server; when none answers and this user has a store, from the store itself.
    public func listLocalModels(_ query: LocalModelQuery, context: ProviderContext) async throws -> [LocalModel] {
        do {
            return try await api(query, context).tags().localModels
        } catch let failure as DownloadFailure where failure.kind == .providerUnavailable {
            let store = OllamaStore(environment: context.environment)
            guard store.exists else { throw failure }
            return store.localModels()
        }
    }

    public func deleteLocalModel(_ model: String, query: LocalModelQuery, context: ProviderContext) async throws -> DeletionResult {
        let name = try Self.checkName(model)
        let api = api(query, context)
        do {
            try await api.delete(model)
        } catch let failure as DownloadFailure where failure.kind == .providerUnavailable {
            let store = OllamaStore(environment: context.environment)
            guard store.exists else { throw failure }
            return try store.delete(name)
        }
        return DeletionResult(deleted: true,
            message: "Deleted \(model) from Ollama at \(api.endpoint). Layers it shared with other models stay until those go too.")
    }

    // MARK: Pieces

    private func api(_ query: LocalModelQuery, _ context: ProviderContext) -> OllamaAPI {
        OllamaAPI(http: context.http, endpoint: OllamaEndpoint.resolve(baseURL: query.baseURL, environment: context.environment),
                  token: nil)
    }

    @discardableResult
    static func checkName(_ model: String) throws(DownloadFailure) -> OllamaModelName {
        switch OllamaModelName.parse(model) {
        case .success(let name):
            return name
        case .failure(let problem):
            throw DownloadFailure(.invalidModel,
                "'\(model)' is not a valid Ollama model name: \(problem.description). Use [host/][namespace/]model[:tag], like llama3.2:1b or hf.co/user/repo:Q4_K_M.",
                retryable: false)
        }
    }
}

/// An Ollama request with a well-formed model name: pulled through the server it names, or
/// straight from the registry into Ollama's store (`source`).
private struct OllamaPullPlan: DownloadPlan {
    let request: DownloadRequest
    let name: OllamaModelName

    var secrets: [String] { [request.token].compactMap { $0 } }

    func run(_ context: DownloadContext) async throws -> DownloadResult {
        let endpoint = OllamaEndpoint.resolve(baseURL: request.baseURL, environment: context.environment)
        let api = OllamaAPI(http: context.http, endpoint: endpoint, token: request.token)
        switch request.source ?? "auto" {
        case "registry":
            return try await OllamaRegistryPull(request: request, name: name, context: context).run()
        case "auto":
            // The server when one answers: it may hold credentials and its own pull queue.
            // Anything that answers is a server (even one that refuses `/api/version`); only
            // silence sends the pull to the registry.
            try Task.checkCancellation()
            guard let serverProblem = await api.listening(timeout: OllamaProvider.probeTimeout) else {
                return try await OllamaPull(api: api, request: request, context: context).run()
            }
            context.progress.setMessage("No Ollama server answers at \(endpoint): pulling from the registry into the store")
            do {
                return try await OllamaRegistryPull(request: request, name: name, context: context).run()
            } catch let failure as DownloadFailure where failure.kind == .network {
                // Neither way works: say both, so the person can pick the one to fix.
                throw DownloadFailure(.providerUnavailable, serverProblem.message
                    + " Without a server the registry was tried, and it could not be reached either: \(failure.message)",
                    details: serverProblem.details)
            }
        default:
            return try await OllamaPull(api: api, request: request, context: context).run()
        }
    }
}
