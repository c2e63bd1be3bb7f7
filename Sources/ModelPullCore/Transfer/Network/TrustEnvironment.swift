import Foundation

/// The certificate authorities to trust, from the variables Python and curl users already set:
/// a bundle file from `SSL_CERT_FILE`, else `REQUESTS_CA_BUNDLE`, else `CURL_CA_BUNDLE` (the
/// first set wins; it replaces the built-in bundle, as it does for OpenSSL, requests and curl),
/// and a folder of hashed certificates from `SSL_CERT_DIR` (searched as well). Unset, libcurl's
/// built-in bundle.
public struct TrustEnvironment: Sendable, Equatable {
    public var bundle: Source?
    public var directory: Source?

    public struct Source: Sendable, Equatable {
        public var path: String
        public var variable: String
    }

    public static let fileVariables = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]
    public static let directoryVariable = "SSL_CERT_DIR"
    public static let none = TrustEnvironment(bundle: nil, directory: nil)

    public init(_ environment: ProcessEnvironment) {
        bundle = Self.fileVariables.lazy.compactMap { name in environment[name].map { Source(path: $0, variable: name) } }.first
        directory = environment[Self.directoryVariable].map { Source(path: $0, variable: Self.directoryVariable) }
    }

    init(bundle: Source?, directory: Source?) {
        (self.bundle, self.directory) = (bundle, directory)
    }

    public var isEmpty: Bool { bundle == nil && directory == nil }

    /// What to tell someone whose server's certificate was not trusted.
    var advice: String {
        if let bundle {
            return "the certificate is not signed by an authority in \(bundle.path) (from \(bundle.variable))"
                + (directory.map { " or \($0.path) (from \($0.variable))" } ?? "")
                + "; add your organisation's root certificate there"
        }
        return "if your network uses its own certificate authority (a corporate proxy), set SSL_CERT_FILE to a PEM bundle that includes its root certificate"
    }
}

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
