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
