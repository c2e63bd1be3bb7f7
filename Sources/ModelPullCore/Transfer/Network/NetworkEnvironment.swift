import Foundation

/// Proxies and trusted authorities, read once from the environment for every request.
public struct NetworkEnvironment: Sendable, Equatable {
    public var proxies: ProxyEnvironment
    public var trust: TrustEnvironment

    public static let direct = NetworkEnvironment(proxies: .none, trust: .none)

    public init(_ environment: ProcessEnvironment) {
        proxies = ProxyEnvironment(environment)
        trust = TrustEnvironment(environment)
    }

    public init(proxies: ProxyEnvironment, trust: TrustEnvironment) {
        self.proxies = proxies
        self.trust = trust
    }
}

extension TransferError {
    /// The failures that are about the machine's network settings, not the server: trying again
    /// cannot cure them, and each says which variable to look at. Nil for the others.
    var settingsFailure: DownloadFailure? {
        switch self {
        case .proxyFailed(let proxy, let reason):
            return DownloadFailure(.network,
                "Cannot get through the proxy \(proxy): \(reason). Check that the proxy runs and accepts this connection, or list the host in NO_PROXY.",
                retryable: false, details: ["proxy": .string(proxy)])
        case .untrustedCertificate(let host, let reason, let advice):
            return DownloadFailure(.network, "The certificate of \(host) is not trusted (\(reason)): \(advice).",
                                   retryable: false, details: ["tls": .string("untrusted certificate")])
        default:
            return nil
        }
    }
}
