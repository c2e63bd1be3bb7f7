import ModelPullCore

/// The providers this build ships, in the order `providers/list` shows them.
enum ProviderCatalog {
    static func registry() -> ProviderRegistry {
        ProviderRegistry([
            UnavailableProvider(name: "huggingface", summary: "Hugging Face Hub repositories into the huggingface_hub cache",
                                reason: "not implemented yet in this version"),
            UnavailableProvider(name: "mlx", summary: "Hugging Face Hub repositories in MLX format (the files mlx-lm loads)",
                                reason: "not implemented yet in this version"),
            OllamaProvider(),
            URLProvider(),
        ])
    }

    static func context(log: LogSink) -> ProviderContext {
        ProviderContext(environment: ProcessEnvironment(),
                        http: HTTPClient(userAgent: "modelpull/\(ServerVersion.string)"),
                        log: log)
    }
}

import ModelPullRPC

enum ServerVersion {
    static var string: String { ServerConfiguration.serverVersion }
}
