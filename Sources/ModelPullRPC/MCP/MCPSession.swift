import Foundation
import ModelPullCore

/// One MCP session's settings and negotiated state: which protocol revision the client speaks
/// (chosen by `initialize`, or carried by each request in the 2026-07-28 revision) and how long a
/// tool call may hold the line before it answers "still running".
public final class MCPSession: Sendable {
    /// The revisions reached through `initialize`, newest first.
    static let handshakeVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    /// The revision without `initialize`: `server/discover`, and the version in each request's `_meta`.
    static let modernVersion = "2026-07-28"
    static var supportedVersions: [String] { [modernVersion] + handshakeVersions }
    static let versionMetaKey = "io.modelcontextprotocol/protocolVersion"

    /// How long `download_model` waits for the download before answering `running`.
    public let callSeconds: Double
    private let negotiated = LockedValue<String?>(nil)

    public init(callSeconds: Double = 45) {
        self.callSeconds = callSeconds
    }

    /// `initialize`: echo a revision we speak, else offer our newest handshake revision (the
    /// client then decides whether it can go on, as the lifecycle rules say).
    func negotiate(_ requested: String?) -> String {
        let chosen = requested.flatMap { Self.handshakeVersions.contains($0) ? $0 : nil } ?? Self.handshakeVersions[0]
        negotiated.withLock { $0 = chosen }
        return chosen
    }

    /// A request's method handler, refusing one whose `_meta` names a revision we do not speak
    /// with -32022, as 2026-07-28 specifies.
    func handler(for method: String) -> Methods.Handler? {
        guard let handler = MCPMethods.table[method] else { return nil }
        return { server, id, params in
            if let requested = params?["_meta"]?[Self.versionMetaKey] {
                guard let version = requested.stringValue, Self.supportedVersions.contains(version) else {
                    throw RPCError(code: -32022, message: "Unsupported protocol version; this server speaks \(Self.supportedVersions.joined(separator: ", ")).",
                                   data: ["supported": .array(Self.supportedVersions.map(JSONValue.string)),
                                          "requested": requested])
                }
            }
            return try await handler(server, id, params)
        }
    }
}
