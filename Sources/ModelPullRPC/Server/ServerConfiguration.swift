import ModelPullCore

/// What a serving session is, as the executable configured it.
public struct ServerConfiguration: Sendable {
    public static let serverName = "modelpull"
    public static let serverVersion = "0.1.0"
    /// Protocol versions this server speaks, newest first. Minor versions are additive.
    public static let protocolVersions = ["1.0"]

    public var maxConcurrent: Int
    /// How long stdin EOF or a signal waits for cancelled work to answer before exiting.
    public var shutdownGrace: Double
    /// The protocol spoken: modelpull's own API, or MCP.
    public var dialect: ProtocolDialect

    public init(maxConcurrent: Int = 3, shutdownGrace: Double = 1.5, dialect: ProtocolDialect = .native) {
        self.maxConcurrent = maxConcurrent
        self.shutdownGrace = shutdownGrace
        self.dialect = dialect
    }
}

/// The protocol a session speaks over the shared machinery (framing, the ordered writer, the
/// request registry, cancellation, the engine): modelpull's own JSON-RPC API, or MCP's tools.
public enum ProtocolDialect: Sendable {
    case native
    case mcp(MCPSession)

    /// The handler for a request, after the dialect's own checks on it.
    func handler(for method: String) -> Methods.Handler? {
        switch self {
        case .native: Methods.handler(for: method)
        case .mcp(let session): session.handler(for: method)
        }
    }

    /// MCP answers no cancelled request; JSON-RPC and LSP answer every request once.
    var answersCancelledRequests: Bool {
        if case .mcp = self { return false }
        return true
    }
}

/// Where the server's outgoing messages go (the ordered stdout writer, or a test double).
public protocol MessageOutput: AnyObject, Sendable {
    /// Queues one whole message. A body with a coalescing key may replace a queued, unwritten
    /// body with the same key (stale progress for a slow reader).
    func send(_ body: [UInt8], coalescingKey: String?)
}

extension OutputWriter: MessageOutput {}
