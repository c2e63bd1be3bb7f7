import ModelPullCore

/// `shutdown`: cancel running downloads, accept no new ones; the process exits on `exit` or EOF.
enum ShutdownMethod {
    static func handle(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        try ParamsReader(params).rejectUnknownFields()
        await server.beginShutdown()
        await server.engine.waitUntilIdle()
        return .null
    }
}
