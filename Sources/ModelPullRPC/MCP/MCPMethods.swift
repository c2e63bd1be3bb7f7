import Foundation
import ModelPullCore

/// The MCP method table: the lifecycle (`initialize`, `ping`, `server/discover`) and the tools.
enum MCPMethods {
    static let table: [String: Methods.Handler] = [
        "initialize": initialize,
        "ping": { _, _, _ in MCPResult.object([:]) },
        "server/discover": discover,
        "tools/list": { _, _, _ in
            MCPResult.object(["tools": .array(MCPTools.all.map(\.listing)), "ttlMs": 0, "cacheScope": "public"])
        },
        "tools/call": MCPToolCall.handle,
    ]

    static var serverInfo: JSONValue {
        ["name": .string(ServerConfiguration.serverName), "version": .string(ServerConfiguration.serverVersion)]
    }

    /// The handshake revisions: echo a version we speak, else our newest.
    static func initialize(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        guard case .mcp(let session) = server.configuration.dialect else { throw RPCError.methodNotFound("initialize") }
        let version = session.negotiate(params?["protocolVersion"]?.stringValue)
        return MCPResult.object([
            "protocolVersion": .string(version),
            "capabilities": ["tools": ["listChanged": false]],
            "serverInfo": serverInfo,
            "instructions": .string(MCPTools.instructions),
        ])
    }

    /// 2026-07-28: what this server speaks, with no handshake.
    static func discover(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        MCPResult.object([
            "supportedVersions": .array(MCPSession.supportedVersions.map(JSONValue.string)),
            "capabilities": ["tools": ["listChanged": false]],
            "instructions": .string(MCPTools.instructions),
            "ttlMs": 0,
            "cacheScope": "public",
        ])
    }
}

/// Every MCP result is an object carrying `resultType` (required by 2026-07-28, ignored by the
/// older revisions) and the server's identity in `_meta`.
enum MCPResult {
    static func object(_ fields: JSONObject) -> JSONValue {
        var fields = fields
        fields["resultType"] = "complete"
        fields["_meta"] = ["io.modelcontextprotocol/serverInfo": MCPMethods.serverInfo]
        return .object(fields)
    }

    /// A `tools/call` result: a short text for the model, the same facts structured for programs.
    static func tool(text: String, structured: JSONValue, isError: Bool = false) -> JSONValue {
        var fields: JSONObject = [
            "content": [["type": "text", "text": .string(text)]],
            "structuredContent": structured,
        ]
        if isError { fields["isError"] = true }
        return object(fields)
    }

    /// A failure a caller can act on, as a tool result rather than a protocol error.
    static func failure(_ failure: DownloadFailure, downloadId: String? = nil) -> JSONValue {
        var structured: JSONObject = [
            "status": .string(failure.kind == .cancelled ? "cancelled" : "error"),
            "kind": .string(failure.kind.rawValue),
            "retryable": .bool(failure.retryable),
            "message": .string(failure.message),
        ]
        if let downloadId { structured["downloadId"] = .string(downloadId) }
        if let after = failure.retryAfterSeconds { structured["retryAfterSeconds"] = .double(after) }
        return tool(text: failure.message, structured: .object(structured), isError: true)
    }
}
