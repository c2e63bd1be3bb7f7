import Foundation

/// The two providers on the Hugging Face Hub, one engine with two flavors:
/// - `provider: "huggingface"` (`.huggingface()`): Hub repos into the huggingface_hub cache (or a
///   plain folder), verified, resumable, several files at once; `org/name:QUANT` picks a GGUF quant.
/// - `provider: "mlx"` (`.mlx()`): the same with mlx-lm's default file set, refusing repos that
///   hold no safetensors weights.
public struct HubProvider: Provider, LocalModelStore {
    public let name: String
    public let summary: String
    public let parameters: Set<DownloadParameter> = [.revision, .include, .exclude, .token, .baseUrl, .cacheDir,
                                                     .localDir, .connections, .stallSeconds]
    private let flavor: HubFlavor
    private let downloader: HubDownloader

    public static func huggingface(fetcher: @escaping @Sendable (HTTPClient) -> SequentialFetcher = { SequentialFetcher(http: $0) },
                                   retry: RetryPolicy = .standard) -> HubProvider {
        HubProvider(flavor: .huggingface, summary: "Hugging Face Hub repositories into the huggingface_hub cache",
                    fetcher: fetcher, retry: retry)
    }

    public static func mlx(fetcher: @escaping @Sendable (HTTPClient) -> SequentialFetcher = { SequentialFetcher(http: $0) },
                           retry: RetryPolicy = .standard) -> HubProvider {
        HubProvider(flavor: .mlx, summary: "Hugging Face Hub repositories in MLX format (the files mlx-lm loads)",
                    fetcher: fetcher, retry: retry)
    }

    private init(flavor: HubFlavor, summary: String, fetcher: @escaping @Sendable (HTTPClient) -> SequentialFetcher,
                 retry: RetryPolicy) {
        name = flavor.providerName
        self.summary = summary
        self.flavor = flavor
        downloader = HubDownloader(flavor: flavor, fetcher: fetcher, retry: retry)
    }

    /// Always available: the Hub is probed by each download, not here (offline, the cache serves).
    public func availability(in context: ProviderContext) async -> ProviderAvailability {
        ProviderAvailability(available: true, baseURL: (try? HubSettings.endpoint(nil, context.environment))?.absoluteString)
    }

    /// Everything that can be checked without the network, so bad requests fail before queueing.
    public func prepare(_ request: DownloadRequest, context: ProviderContext) throws(DownloadFailure) -> any DownloadPlan {
        let reference = try HubModelReference(parsing: request.model, provider: flavor.providerName)
        if flavor == .mlx, let tag = reference.quantTag {
            throw DownloadFailure(.invalidModel,
                "Provider 'mlx' takes 'org/name' without a quant tag (got ':\(tag)'); GGUF quants are for provider 'huggingface'.")
        }
        let revision = request.revision ?? HubRevision.defaultBranch
        try HubRevision.validate(revision)
        if let baseURL = request.baseURL { _ = try HubSettings.endpoint(baseURL, ProcessEnvironment([:])) }
        // The request's token and the one HF_TOKEN or the token file would supply.
        let secrets = [request.token, HubSettings.token(request.token, context.environment)].compactMap { $0 }
        return HubDownloadPlan(downloader: downloader, request: request, reference: reference, revision: revision,
                               secrets: secrets)
    }

    /// huggingface: every repo in the cache; mlx: those mlx-lm can load (`model*.safetensors`
    /// plus `config.json`).
    public func listLocalModels(_ query: LocalModelQuery, context: ProviderContext) async throws -> [LocalModel] {
        let inventory = inventory(query, context)
        guard flavor == .mlx else { return inventory.models(provider: name) }
        let weights = HubGlob("model*.safetensors")
        return inventory.models(provider: name) { files in
            files.contains { weights.matches($0) } && files.contains("config.json")
        }
    }

    public func deleteLocalModel(_ model: String, query: LocalModelQuery, context: ProviderContext) async throws -> DeletionResult {
        let reference = try HubModelReference(parsing: model, provider: flavor.providerName)
        guard reference.quantTag == nil else {
            throw DownloadFailure(.invalidModel,
                "models/delete removes a whole repo from the cache: pass '\(reference.repoId)' without ':\(reference.quantTag!)'.")
        }
        return try inventory(query, context).delete(repoId: reference.repoId)
    }

    private func inventory(_ query: LocalModelQuery, _ context: ProviderContext) -> HubCacheInventory {
        HubCacheInventory(cacheRoot: HubCacheLocation.hubCache(context.environment, override: query.cacheDir))
    }
}

/// A Hub request with its model reference parsed and its revision checked.
struct HubDownloadPlan: DownloadPlan {
    let downloader: HubDownloader
    let request: DownloadRequest
    let reference: HubModelReference
    let revision: String
    let secrets: [String]

    func run(_ context: DownloadContext) async throws -> DownloadResult {
        try await downloader.download(self, context: context)
    }
}
