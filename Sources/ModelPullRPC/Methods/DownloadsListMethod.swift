import ModelPullCore

/// `downloads/list`: the jobs running or queued now.
enum DownloadsListMethod {
    static func handle(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        try ParamsReader(params).rejectUnknownFields()
        let jobs = await server.engine.list()
        return ["downloads": .array(jobs.map { job in
            var entry: JSONObject = [
                "downloadId": .string(job.downloadId),
                "provider": .string(job.provider),
                "model": .string(job.model),
                "status": .string(job.snapshot.status.rawValue),
                "requestIds": .array(server.registry.requestIds(for: job.downloadId).map(\.json)),
                "downloadedBytes": .integer(job.snapshot.downloadedBytes),
            ]
            if let total = job.snapshot.totalBytes { entry["totalBytes"] = .integer(total) }
            if let percent = job.snapshot.percent { entry["percent"] = .double(WireEncoding.percentFigure(percent)) }
            if let file = job.snapshot.file { entry["file"] = .string(file) }
            entry["startedAt"] = .string(WireEncoding.iso8601(job.startedAt))
            return .object(entry)
        })]
    }
}
