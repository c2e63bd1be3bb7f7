/// What went wrong, in terms a client can act on. The raw values are the protocol's `data.kind`.
public enum ErrorKind: String, Sendable, CaseIterable, Codable {
    case unsupportedProvider = "unsupported_provider"
    case invalidModel = "invalid_model"
    case notFound = "not_found"
    case authRequired = "auth_required"
    case accessDenied = "access_denied"
    case gated
    case rateLimited = "rate_limited"
    case network
    case upstream
    case integrity
    case diskFull = "disk_full"
    case storage
    case providerUnavailable = "provider_unavailable"
    case cancelled
    case unsupportedProtocolVersion = "unsupported_protocol_version"

    /// Whether trying the same request again later can succeed without the caller changing anything.
    public var isRetryableByDefault: Bool {
        switch self {
        case .rateLimited, .network, .upstream, .providerUnavailable, .cancelled: return true
        default: return false
        }
    }
}

/// A failure that ends a download, carrying a message that says what to do next.
///
/// Messages are written for people ("Model 'x' requires authentication: pass `token` or set
/// HF_TOKEN") and must never contain a secret: providers build them from public facts only.
public struct DownloadFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var kind: ErrorKind
    public var message: String
    public var retryable: Bool
    /// Seconds the server asked us to wait (HTTP `Retry-After`), when known.
    public var retryAfterSeconds: Double?
    /// Free-form facts for programs: expected/actual digests, the file concerned, the choices available.
    public var details: [String: DetailValue]

    public init(_ kind: ErrorKind, _ message: String, retryable: Bool? = nil,
                retryAfterSeconds: Double? = nil, details: [String: DetailValue] = [:]) {
        self.kind = kind
        self.message = message
        self.retryable = retryable ?? kind.isRetryableByDefault
        self.retryAfterSeconds = retryAfterSeconds
        self.details = details
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    public static func cancelled(_ message: String = "Download cancelled. Partial files are kept; the same request resumes them.") -> DownloadFailure {
        DownloadFailure(.cancelled, message)
    }

    /// A detail value: a small JSON-like tree that the RPC layer serialises as is.
    public enum DetailValue: Sendable, Equatable {
        case string(String)
        case int(Int64)
        case bool(Bool)
        case strings([String])
    }
}
