import ModelPullCore

/// `providers/list`: every provider this build knows, and whether it can serve now.
enum ProvidersListMethod {
    static func handle(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        try ParamsReader(params).rejectUnknownFields()
        let entries = await server.engine.providerStatus()
        return ["providers": .array(entries.map { WireEncoding.provider(name: $0.name, summary: $0.summary, availability: $0.availability) })]
    }
}
