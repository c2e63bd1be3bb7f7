import ModelPullCore

/// The shared context every provider works in: this process's environment and HTTP client.
enum ProviderCatalog {
    static func context(log: LogSink) -> ProviderContext {
        let environment = ProcessEnvironment()
        let network = NetworkEnvironment(environment)
        let engine = TransferEngine.choose(environment, network: network)
        if let note = engine.note { log(.warning, note) }
        if engine.engine == .urlsession { ProxyEnvironment.exportLowerCaseSpellings(from: environment) }
        let http = HTTPClient(userAgent: "modelpull/\(ServerVersion.string)", engine: engine.engine, network: network)
        log(.debug, "requests travel over \(http.engine.rawValue)")
        return ProviderContext(environment: environment, http: http, log: log)
    }
}

import ModelPullRPC

enum ServerVersion {
    static var string: String { ServerConfiguration.serverVersion }
}
