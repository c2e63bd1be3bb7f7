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

    public init(maxConcurrent: Int = 3, shutdownGrace: Double = 1.5) {
        self.maxConcurrent = maxConcurrent
        self.shutdownGrace = shutdownGrace
    }
}

/// Where the server's outgoing messages go (the ordered stdout writer, or a test double).
public protocol MessageOutput: AnyObject, Sendable {
    /// Queues one whole message. A body with a coalescing key may replace a queued, unwritten
    /// body with the same key (stale progress for a slow reader).
    func send(_ body: [UInt8], coalescingKey: String?)
}

extension OutputWriter: MessageOutput {}
