import ModelPullCore

/// `downloads/cancel`: cancels a job for every request attached to it.
enum DownloadsCancelMethod {
    static func handle(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        var reader = try ParamsReader(params)
        let downloadId = try reader.requiredString("downloadId")
        try reader.rejectUnknownFields()
        guard let status = await server.engine.cancel(downloadId: downloadId) else {
            throw RPCError.application(DownloadFailure(.notFound,
                "No running or queued download has id '\(downloadId)'. downloads/list shows the current ones."))
        }
        return ["downloadId": .string(downloadId), "cancelled": true, "status": .string(status.rawValue)]
    }
}
