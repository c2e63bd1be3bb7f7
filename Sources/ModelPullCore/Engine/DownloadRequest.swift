import Foundation

/// One `models/download` request, already validated for types by the front-end (JSON-RPC or the
/// command line), then for values by `checkParameters()`.
public struct DownloadRequest: Sendable, Hashable {
    public var provider: String
    public var model: String
    public var revision: String?
    public var include: [String]
    public var exclude: [String]
    /// Never logged, never part of `description`; only a salted digest of it enters the
    /// single-flight key.
    public var token: String?
    public var baseURL: String?
    public var cacheDir: String?
    public var localDir: String?
    public var connections: Int?
    public var sha256: String?
    public var fileName: String?
    public var stallSeconds: Double?
    public var insecure: Bool
    /// Ollama only: `auto`, `server` or `registry` (see `OllamaSource`); nil is `auto`.
    public var source: String?

    public init(provider: String, model: String, revision: String? = nil, include: [String] = [],
                exclude: [String] = [], token: String? = nil, baseURL: String? = nil,
                cacheDir: String? = nil, localDir: String? = nil, connections: Int? = nil,
                sha256: String? = nil, fileName: String? = nil, stallSeconds: Double? = nil,
                insecure: Bool = false) {
        self.provider = provider
        self.model = model
        self.revision = revision
        self.include = include
        self.exclude = exclude
        self.token = token
        self.baseURL = baseURL
        self.cacheDir = cacheDir
        self.localDir = localDir
        self.connections = connections
        self.sha256 = sha256
        self.fileName = fileName
        self.stallSeconds = stallSeconds
        self.insecure = insecure
    }

    /// `model` as it may be shown, logged and echoed: a URL's user, password and query (a signed
    /// URL's credential) masked. Whatever reports the request uses this, never `model`.
    public var modelForDisplay: String {
        guard let url = URL(string: model), let components = URLComponents(url: url, resolvingAgainstBaseURL: false),
              components.user != nil || components.password != nil || !(components.percentEncodedQuery ?? "").isEmpty
        else { return model }
        return url.redactedForDisplay
    }

    /// Two requests with the same key share one job (single-flight). Compared as bytes: Swift
    /// `String` equality is canonical equivalence, and two folders whose names differ only in
    /// Unicode normalisation are two folders on Linux. The credential is part of the key (as a
    /// salted digest, never the token): a request must not borrow another's authorisation, nor
    /// fail because it joined a job started without one.
    public var singleFlightKey: SingleFlightKey {
        SingleFlightKey(fields: [provider, model, revision ?? "", include.joined(separator: "\u{1}"),
                                 exclude.joined(separator: "\u{1}"), baseURL ?? "", cacheDir ?? "",
                                 localDir ?? "", sha256?.lowercased() ?? "", fileName ?? "",
                                 insecure ? "insecure" : "", source ?? ""],
                        credential: token)
    }
}

/// The identity of a job's work, as bytes (see `DownloadRequest.singleFlightKey`).
public struct SingleFlightKey: Hashable, Sendable {
    private let bytes: [UInt8]

    init(fields: [String], credential: String?) {
        var bytes: [UInt8] = []
        for field in fields {
            bytes.append(contentsOf: field.utf8)
            bytes.append(0)
        }
        if let credential {
            bytes.append(contentsOf: CredentialFingerprint.digest(of: credential))
        }
        self.bytes = bytes
    }
}

/// A digest of a credential keyed with a per-process random salt: equal tokens give equal
/// fingerprints within this process, and nothing kept in memory can be checked against a
/// guessed token elsewhere.
enum CredentialFingerprint {
    private static let salt: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }

    static func digest(of credential: String) -> [UInt8] {
        var hasher = SHA256()
        salt.withUnsafeBytes { hasher.update($0) }
        Array(credential.utf8).withUnsafeBytes { hasher.update($0) }
        return hasher.finalize().bytes
    }
}

// MARK: Parameter values

extension DownloadRequest {
    /// The range every numeric parameter must fall in: what the code below can represent
    /// (timers, `Duration`, libcurl's millisecond `long`s) with room to spare. Beyond it a value
    /// is refused, never clamped in silence and never allowed to crash the process.
    public enum Limits {
        public static let connections: ClosedRange<Int> = 1...64
        /// A tenth of a second to a day: below, libcurl rounds a timeout to 0 ("no timeout");
        /// above, no link is that slow and Foundation's timers overflow (≈1e16 crashed it).
        public static let stallSeconds: ClosedRange<Double> = 0.1...86_400
    }

    /// A parameter whose value is out of bounds, named the way the front-end spells it.
    public struct ParameterProblem: Error, Sendable, Equatable {
        /// The JSON-RPC field name (`stallSeconds`); the command line maps it to its flag.
        public var field: String
        public var expected: String
        /// What was received, never the value itself when it may be a secret.
        public var received: String
    }

    /// Checks values that both front-ends accept as types but that must be bounded or shaped.
    public func checkParameters() throws(ParameterProblem) {
        if let connections, !Limits.connections.contains(connections) {
            throw ParameterProblem(field: "connections",
                                   expected: "an integer from \(Limits.connections.lowerBound) to \(Limits.connections.upperBound)",
                                   received: String(connections))
        }
        if let stallSeconds, !(stallSeconds.isFinite && Limits.stallSeconds.contains(stallSeconds)) {
            throw ParameterProblem(field: "stallSeconds",
                                   expected: "a number of seconds from 0.1 to 86400 (a day)",
                                   received: stallSeconds.isFinite ? String(stallSeconds) : "a non-finite number")
        }
        // A line break in a token would end its header line and start another (header
        // injection); no real token has control characters. The token is never quoted back.
        if let token, token.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ParameterProblem(field: "token", expected: "a token without control characters (line breaks, tabs)",
                                   received: "a control character")
        }
        if let source, !["auto", "server", "registry"].contains(source) {
            throw ParameterProblem(field: "source", expected: "one of auto, server, registry",
                                   received: String(source.prefix(40)).debugDescription)
        }
        if let sha256, sha256.utf8.count != 64 || !sha256.utf8.allSatisfy({ Self.isHexDigit($0) }) {
            throw ParameterProblem(field: "sha256", expected: "64 hexadecimal characters",
                                   received: "\(sha256.unicodeScalars.count) characters")
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
    }
}
