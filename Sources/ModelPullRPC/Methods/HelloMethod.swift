import ModelPullCore

/// `hello`: optional version negotiation. A client lists the versions it speaks; the server
/// picks the newest it shares, or refuses with the list it supports.
enum HelloMethod {
    static func handle(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        var reader = try ParamsReader(params)
        let requested = try reader.strings("protocolVersions")
        let client = try clientInfo(&reader)
        try reader.rejectUnknownFields()
        if let client { server.log(.info, "client: \(client)") }

        let supported = ServerConfiguration.protocolVersions
        let version: String
        if let requested {
            guard let chosen = negotiate(requested: requested, supported: supported) else {
                throw RPCError(code: RPCError.code(for: .unsupportedProtocolVersion),
                               message: "None of the requested protocol versions (\(requested.joined(separator: ", "))) is supported; this server speaks \(supported.joined(separator: ", ")).",
                               data: ["kind": "unsupported_protocol_version", "retryable": false,
                                      "supported": .array(supported.map(JSONValue.string)),
                                      "requested": .array(requested.map(JSONValue.string))])
            }
            version = chosen
        } else {
            version = supported[0]
        }

        let providers = await server.engine.providerNames
        return [
            "protocolVersion": .string(version),
            "server": ["name": .string(ServerConfiguration.serverName), "version": .string(ServerConfiguration.serverVersion)],
            "capabilities": [
                "providers": .array(providers.map(JSONValue.string)),
                "framing": ["ndjson", "lsp"],
                "cancellation": true,
                "singleFlight": true,
                "maxConcurrent": .integer(Int64(server.configuration.maxConcurrent)),
                "methods": .array(Methods.names.map(JSONValue.string)),
            ],
        ]
    }

    /// Exact matches win; otherwise any 1.x request is served by our newest 1.x, since minor
    /// versions only add.
    static func negotiate(requested: [String], supported: [String]) -> String? {
        if let exact = supported.first(where: requested.contains) { return exact }
        for version in requested {
            let major = version.split(separator: ".").first
            if let match = supported.first(where: { $0.split(separator: ".").first == major }) { return match }
        }
        return nil
    }

    private static func clientInfo(_ reader: inout ParamsReader) throws(RPCError) -> String? {
        guard case let .object(object)? = try reader.object("client") else { return nil }
        guard let name = object["name"]?.stringValue else {
            throw .invalidParams(field: "params.client.name", expected: "a string", received: object["name"]?.typeName ?? "nothing")
        }
        if let version = object["version"], version.stringValue == nil {
            throw .invalidParams(field: "params.client.version", expected: "a string", received: version.typeName)
        }
        return [name, object["version"]?.stringValue].compactMap { $0 }.joined(separator: " ")
    }
}
