import ModelPullCore

/// `rpc.discover`: the OpenRPC document this server was built with.
enum DiscoverMethod {
    static func handle(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        try ParamsReader(params).rejectUnknownFields()
        return try SchemaDocuments.openRPC()
    }
}
