import ModelPullCore

/// The providers this build ships, in the order `providers/list` shows them.
enum ProviderCatalog {
    static func registry() -> ProviderRegistry {
        ProviderRegistry([
            HuggingFaceProvider(),
            MLXProvider(),
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
