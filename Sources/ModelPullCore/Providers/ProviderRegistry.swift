/// The providers a server offers, in the order `providers/list`, `hello` and the command line's
/// help show them.
public struct ProviderRegistry: Sendable {
    public let providers: [any Provider]

    public init(_ providers: [any Provider]) {
        self.providers = providers
    }

    /// Every provider this build ships. Adding a provider is a folder under `Providers/` and a
    /// line here (and its name in schema/v1's `Provider` enum, which a unit test holds equal).
    public static var builtIn: ProviderRegistry {
        ProviderRegistry([
            HubProvider.huggingface(),
            HubProvider.mlx(),
            OllamaProvider(),
            URLProvider(),
        ])
    }

    public func provider(named name: String) -> (any Provider)? {
        providers.first { $0.name == name }
    }

    public var names: [String] { providers.map(\.name) }

    /// The providers that read `parameter`, by name.
    public func names(reading parameter: DownloadParameter) -> [String] {
        providers.filter { $0.parameters.contains(parameter) }.map(\.name)
    }

    /// Refuses a parameter the request's provider does not read: a wish the provider cannot
    /// honour (`exclude` for a single url file, `revision` for an Ollama tag) is an error that
    /// names who does read it, never silently ignored. An unknown provider passes here; the
    /// engine refuses it by name.
    public func checkApplicable(_ request: DownloadRequest) throws(DownloadRequest.ParameterProblem) {
        guard let provider = provider(named: request.provider) else { return }
        for parameter in DownloadParameter.allCases
        where parameter.isSet(in: request) && !provider.parameters.contains(parameter) {
            let readers = names(reading: parameter)
            throw DownloadRequest.ParameterProblem(
                field: parameter.rawValue, expected: "left out for provider '\(provider.name)'",
                received: readers.isEmpty ? "a value" : "a value; only \(readers.joined(separator: ", ")) use it")
        }
    }
}
