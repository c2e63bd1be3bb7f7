import Foundation

/// `provider: "url"`: any http(s) file, for models that live outside a hub. Resumable,
/// verified against an optional SHA-256, renamed into place only when whole.
///
/// Layout in the destination directory (`localDir`, else `cacheDir`, else
/// `$XDG_CACHE_HOME/modelpull/url`):
///   <fileName>                         the finished file
///   .modelpull/<fileName>.partial      bytes so far (resumed by the next request)
///   .modelpull/<fileName>.partial.json where the partial came from (URL, validator)
///   .modelpull/<fileName>.partial.ranges which ranges of the partial are done (parallel ranges)
///   .modelpull/<fileName>.json         what the finished file is (URL, size, SHA-256)
///   .modelpull/<fileName>.lock         flock held while downloading
public struct URLProvider: Provider {
    public let name = "url"
    public let summary = "Any http(s) file, resumable, verified with an optional SHA-256"
    private let fetcher: @Sendable (HTTPClient) -> RangedFetcher

    public init(fetcher: @escaping @Sendable (HTTPClient) -> RangedFetcher = { RangedFetcher(http: $0) }) {
        self.fetcher = fetcher
    }

    public func availability(in context: ProviderContext) async -> ProviderAvailability {
        ProviderAvailability(available: true)
    }

    public func validate(_ request: DownloadRequest) throws(DownloadFailure) {
        _ = try remoteURL(request)
        _ = try fileName(for: request, url: remoteURL(request))
        if let sha = request.sha256, Digest(hex: sha)?.bytes.count != 32 {
            throw DownloadFailure(.invalidModel, "`sha256` must be 64 hexadecimal characters.")
        }
    }

    public func download(_ request: DownloadRequest, context: DownloadContext) async throws -> DownloadResult {
        let url = try remoteURL(request)
        let name = try fileName(for: request, url: url)
        let directory = destination(for: request, environment: context.environment)
        let layout = URLDownloadLayout(directory: directory, fileName: name)
        try layout.createDirectories()
        let progress = context.progress

        let lock = try await FileLock.acquire(at: layout.lockPath) {
            progress.setMessage("Waiting for another process that is downloading \(name)")
        }
        defer { lock.release() }

        if let reused = try reuseFinishedFile(layout, url: url, request: request, progress: progress) {
            return reused
        }

        let partial = try PartialFile(path: layout.partialPath)
        let record = PartialRecord.read(layout.partialRecordPath)
        let sameSource = record?.url == url.absoluteString
        if !sameSource {
            // A partial from another URL under the same name: its bytes are not ours to resume.
            try partial.truncate(to: 0)
            RangeRecord.remove(partialPath: partial.path)
        }
        try PartialRecord(url: url.absoluteString, validator: sameSource ? record?.validator : nil)
            .write(to: layout.partialRecordPath)
        var knownSize: Int64?
        if case .valid(let ranges) = RangeRecord.load(partialPath: partial.path) { knownSize = ranges.size }
        let resumed = RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: nil)
        progress.addFile(name, size: knownSize)
        if resumed > 0 { progress.reuse(name, bytes: resumed, fileComplete: false) }
        progress.setStatus(.downloading, resumed > 0
            ? "Resuming \(name) from \(ByteFormat.string(resumed))"
            : "Downloading \(name)")

        let verify = BenchmarkSwitches.verifies(context)
        var headers: [String: String] = [:]
        if let token = request.token { headers["Authorization"] = "Bearer \(token)" }
        let source = FetchSource(url: url, headers: headers, validator: sameSource ? record?.validator : nil,
                                 idleTimeout: request.stallSeconds ?? 30)
        let transfer = FileTransfer(http: context.http, sequential: fetcher(context.http))
        let job = FileTransfer.Job(source: source, partial: partial, digest: verify ? .sha256 : nil,
                                   connections: request.connections ?? transfer.tuning.connectionsPerFile)
        let outcome: FileTransfer.Outcome
        do {
            outcome = try await transfer.run(job, onStart: { identity in
                guard let size = identity.size else { return }
                progress.addFile(name, size: size)
                try DiskSpace.ensureRoom(for: size - RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: size), at: directory)
            }, onProgress: { progress.advance(name, completed: $0) }, onRetry: { progress.setMessage($0) })
        } catch let error as HTTPStatusError {
            throw HTTPFailureMapper.generic(error, url: url)
        }
        try PartialRecord(url: url.absoluteString, validator: outcome.validator)
            .write(to: layout.partialRecordPath)

        progress.setStatus(.verifying, "Verifying \(name)")
        let digest = outcome.digest
        if verify, let expected = request.sha256?.lowercased(), digest?.hex != expected {
            partial.discard()
            RangeRecord.remove(partialPath: partial.path)
            try? FileManager.default.removeItem(atPath: layout.partialRecordPath)
            throw DownloadFailure(.integrity,
                "SHA-256 mismatch for \(name): expected \(expected), got \(digest?.hex ?? "nothing"). The file was deleted; check the checksum or the URL.",
                retryable: false,
                details: ["file": .string(name), "expected": .string(expected), "actual": .string(digest?.hex ?? "")])
        }
        try CompletedRecord(url: url.absoluteString, size: outcome.size, sha256: digest?.hex)
            .write(to: layout.completedRecordPath)
        try partial.commit(to: layout.finalPath)
        RangeRecord.remove(partialPath: partial.path)
        try? FileManager.default.removeItem(atPath: layout.partialRecordPath)
        progress.fileFinished(name)

        return DownloadResult(
            path: layout.finalPath, revision: nil,
            files: [.init(path: name, size: outcome.size, sha256: digest?.hex)],
            bytesDownloaded: outcome.transferred, bytesReused: outcome.resumed)
    }

    // MARK: Pieces

    private func remoteURL(_ request: DownloadRequest) throws(DownloadFailure) -> URL {
        guard let url = URL(string: request.model), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty else {
            throw DownloadFailure(.invalidModel,
                "For provider 'url', `model` must be an http(s) URL, like https://example.com/model.gguf.")
        }
        return url
    }

    private func fileName(for request: DownloadRequest, url: URL) throws(DownloadFailure) -> String {
        let name = request.fileName ?? url.lastPathComponent.removingPercentEncoding ?? url.lastPathComponent
        do {
            try SafePath.validate(name)
        } catch {
            throw DownloadFailure(.invalidModel,
                "Cannot derive a safe file name from \(url.redactedForLogs); pass `fileName` (a plain name without '/').")
        }
        guard !name.contains("/"), !name.hasPrefix(".") || request.fileName != nil, name != "/" else {
            throw DownloadFailure(.invalidModel, "`fileName` must be a plain file name without '/': \(name.debugDescription)")
        }
        return name
    }

    private func destination(for request: DownloadRequest, environment: ProcessEnvironment) -> String {
        if let dir = request.localDir ?? request.cacheDir { return (dir as NSString).expandingTildeInPath }
        return (environment.cacheHome as NSString).appendingPathComponent("modelpull/url")
    }

    /// A finished file recorded with the same URL (and digest, when one is asked for) is reused
    /// without touching the network.
    private func reuseFinishedFile(_ layout: URLDownloadLayout, url: URL, request: DownloadRequest,
                                   progress: JobProgress) throws -> DownloadResult? {
        guard let record = CompletedRecord.read(layout.completedRecordPath), record.url == url.absoluteString,
              let attributes = try? FileManager.default.attributesOfItem(atPath: layout.finalPath),
              let size = (attributes[.size] as? NSNumber)?.int64Value, size == record.size else { return nil }
        if let expected = request.sha256?.lowercased(), record.sha256 != expected { return nil }
        progress.addFile(layout.fileName, size: size)
        progress.reuse(layout.fileName, bytes: size, fileComplete: true)
        return DownloadResult(path: layout.finalPath, revision: nil,
                              files: [.init(path: layout.fileName, size: size, sha256: record.sha256)],
                              bytesDownloaded: 0, bytesReused: size,
                              message: "Already downloaded; reused \(layout.finalPath)")
    }
}
