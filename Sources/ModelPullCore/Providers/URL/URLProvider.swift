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
    public let parameters: Set<DownloadParameter> = [.token, .cacheDir, .localDir, .connections, .sha256, .fileName,
                                                     .stallSeconds]
    private let fetcher: @Sendable (HTTPClient) -> SequentialFetcher

    public init(fetcher: @escaping @Sendable (HTTPClient) -> SequentialFetcher = { SequentialFetcher(http: $0) }) {
        self.fetcher = fetcher
    }

    public func availability(in context: ProviderContext) async -> ProviderAvailability {
        ProviderAvailability(available: true)
    }

    /// The URL and the file name, checked before the job is queued.
    public func prepare(_ request: DownloadRequest, context: ProviderContext) throws(DownloadFailure) -> any DownloadPlan {
        let url = try remoteURL(request)
        let name = try fileName(for: request, url: url)
        if let sha = request.sha256, Digest(hex: sha)?.bytes.count != 32 {
            throw DownloadFailure(.invalidModel, "`sha256` must be 64 hexadecimal characters.")
        }
        return URLDownloadPlan(provider: self, request: request, source: URLSource(url: url), fileName: name)
    }

    fileprivate func download(_ plan: URLDownloadPlan, context: DownloadContext) async throws -> DownloadResult {
        let request = plan.request
        let source = plan.source
        let name = plan.fileName
        let directory = destination(for: request, environment: context.environment)
        let layout = URLDownloadLayout(directory: directory, fileName: name)
        let createdFolders = try layout.createDirectories()
        let progress = context.progress

        let lock = try await FileLock.acquire(at: layout.lockPath) {
            progress.setMessage("Waiting for another process that is downloading \(name)")
        }
        var keepLock = true
        defer { keepLock ? lock.release() : lock.releaseRemovingFile() }

        if let reused = try reuseFinishedFile(layout, source: source, request: request, progress: progress) {
            return reused
        }
        let partial = try PartialFile(path: layout.partialPath)
        do {
            return try await fetch(source, into: partial, layout: layout, request: request, context: context)
        } catch {
            // Nothing worth keeping (refused before the first byte, or no byte ever came): leave
            // the destination as it was, without an empty partial or records that prove nothing.
            if RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: nil) == 0 {
                partial.discard()
                RangeRecord.remove(partialPath: partial.path)
                unlink(layout.partialRecordPath)
                keepLock = false
                unlink(layout.lockPath)
                for folder in createdFolders.reversed() { rmdir(folder) }
            }
            throw error
        }
    }

    /// Resumes or starts the transfer into `partial`, verifies it and puts it in place.
    private func fetch(_ source: URLSource, into partial: PartialFile, layout: URLDownloadLayout,
                       request: DownloadRequest, context: DownloadContext) async throws -> DownloadResult {
        let name = layout.fileName
        let progress = context.progress
        let resume = try ResumePoint.decide(for: source, partial: partial, layout: layout)
        var knownSize: Int64?
        if case .valid(let ranges) = RangeRecord.load(partialPath: partial.path) { knownSize = ranges.size }
        let resumed = RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: nil)
        progress.addFile(name, size: knownSize)
        if resumed > 0 { progress.reuse(name, bytes: resumed, fileComplete: false) }
        progress.setStatus(.downloading, resume.message(resumedBytes: resumed, name: name))

        let verify = BenchmarkSwitches.verifies(context)
        var headers: [String: String] = [:]
        if let token = request.token { headers["Authorization"] = "Bearer \(token)" }
        let fetchSource = FetchSource(url: source.url, headers: headers, validator: resume.validator,
                                      idleTimeout: request.stallSeconds ?? 30)
        let transfer = FileTransfer(http: context.http, sequential: fetcher(context.http))
        let job = FileTransfer.Job(source: fetchSource, partial: partial, digest: verify ? .sha256 : nil,
                                   connections: request.connections ?? transfer.tuning.connectionsPerFile)
        let recorder = PartialRecorder(path: layout.partialRecordPath,
                                       record: PartialRecord(url: source.display, source: source.fingerprint,
                                                             validator: resume.validator, size: resume.size))
        let announcer = ResumeAnnouncer(kept: resumed) { progress.announce("Resuming \(name) from \(ByteFormat.string(resumed))") }
        let outcome: FileTransfer.Outcome
        do {
            outcome = try await transfer.run(job, observer: TransferObserver(started: { identity in
                // Bytes kept for a file of another size belong to another version, whatever the
                // validator says: the transfer drops them and starts over.
                if let kept = resume.size, let size = identity.size, size != kept,
                   RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: nil) > 0 {
                    throw RangeFetchObstacle.remoteChanged
                }
                // Before the first byte: the record names the version these bytes come from.
                try recorder.record(identity)
                if let size = identity.size {
                    progress.addFile(name, size: size)
                    let finished = RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: size)
                    try DiskSpace.ensureRoom(for: size - finished, at: layout.directory)
                }
            }, progressed: { completed in
                progress.advance(name, completed: completed)
                announcer.progressed(to: completed)
            }, retrying: { message in
                announcer.heardRetry()
                progress.announce(message)
            }))
        } catch let error as HTTPStatusError {
            throw HTTPFailureMapper.generic(error, url: source.url)
        }

        progress.setStatus(.verifying, "Verifying \(name)")
        let digest = outcome.digest
        if verify, let expected = request.sha256?.lowercased(), digest?.hex != expected {
            partial.discard()
            RangeRecord.remove(partialPath: partial.path)
            unlink(layout.partialRecordPath)
            throw DownloadFailure(.integrity,
                "SHA-256 mismatch for \(name): expected \(expected), got \(digest?.hex ?? "nothing"). The file was deleted; check the checksum or the URL.",
                retryable: false,
                details: ["file": .string(name), "expected": .string(expected), "actual": .string(digest?.hex ?? "")])
        }
        try install(partial, layout: layout, source: source, size: outcome.size, sha256: digest?.hex)
        progress.fileFinished(name)

        return DownloadResult(
            path: layout.finalPath, revision: nil,
            files: [.init(path: name, size: outcome.size, sha256: digest?.hex)],
            bytesDownloaded: outcome.transferred, bytesReused: outcome.resumed)
    }

    /// Puts the verified bytes in place, then records what they are. In that order: a record
    /// never describes bytes that are not in place (a crash between the two leaves a file
    /// without a record, which is downloaded again, never a record over someone else's bytes).
    private func install(_ partial: PartialFile, layout: URLDownloadLayout, source: URLSource,
                         size: Int64, sha256: String?) throws(DownloadFailure) {
        unlink(layout.completedRecordPath)
        try partial.commit(to: layout.finalPath)
        RangeRecord.remove(partialPath: partial.path)
        unlink(layout.partialRecordPath)
        guard let file = FileIdentity.regularFile(at: layout.finalPath), file.size == size else {
            throw DownloadFailure(.storage, "\(layout.finalPath) changed while it was put in place; retry.", retryable: true)
        }
        try CompletedRecord(url: source.display, source: source.fingerprint, size: size, sha256: sha256, file: file)
            .write(to: layout.completedRecordPath)
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

    /// The name the file gets: `fileName`, else the URL's last path segment, checked as bytes
    /// (see `SafePath`) whichever it is. A derived name must also not be hidden nor carry a
    /// credential (a token some services put in the path would land on disk and in every
    /// message); no name may be the state folder's (in any case: macOS folders ignore it).
    private func fileName(for request: DownloadRequest, url: URL) throws(DownloadFailure) -> String {
        let source = URLSource(url: url)
        guard let name = request.fileName ?? source.lastSegment else {
            throw DownloadFailure(.invalidModel,
                "Cannot derive a file name from \(url.redactedForDisplay) (its last path segment is empty or not UTF-8); pass `fileName`.")
        }
        if let problem = SafePath.problem(in: name) ?? (name.utf8.contains(UInt8(ascii: "/")) ? "a '/'" : nil) {
            throw DownloadFailure(.invalidModel, request.fileName == nil
                ? "Cannot derive a safe file name from \(url.redactedForDisplay) (\(problem)); pass `fileName`, a plain name."
                : "`fileName` must be a plain, safe file name (\(problem)): \(name.debugDescription)")
        }
        if request.fileName == nil {
            let secrets = [request.token].compactMap { $0 } + source.secrets
            if secrets.contains(where: { $0.utf8.count >= 6 && name.utf8.contains($0.utf8) }) {
                throw DownloadFailure(.invalidModel,
                    "The last part of the URL holds a credential, so it cannot be the file name; pass `fileName`.")
            }
            guard name.utf8.first != UInt8(ascii: ".") else {
                throw DownloadFailure(.invalidModel,
                    "The URL names a hidden file (\(name.debugDescription)); pass `fileName` to save it under that name anyway.")
            }
        }
        guard ReservedName.fold(name) != URLDownloadLayout.stateFolderName else {
            throw DownloadFailure(.invalidModel, "`fileName` cannot be \(name.debugDescription): ModelPull keeps its partial files in that folder.")
        }
        return name
    }

    private func destination(for request: DownloadRequest, environment: ProcessEnvironment) -> String {
        if let dir = request.localDir ?? request.cacheDir { return (dir as NSString).expandingTildeInPath }
        return (environment.cacheHome as NSString).appendingPathComponent("modelpull/url")
    }

    /// A finished file recorded with the same URL (and digest, when one is asked for) is reused
    /// without touching the network, if it is still the very file the record was written for:
    /// same device, inode, size and modification time, a regular file and not a link.
    private func reuseFinishedFile(_ layout: URLDownloadLayout, source: URLSource, request: DownloadRequest,
                                   progress: JobProgress) throws -> DownloadResult? {
        guard let record = CompletedRecord.read(layout.completedRecordPath), record.source == source.fingerprint,
              let file = FileIdentity.regularFile(at: layout.finalPath), file == record.file,
              file.size == record.size else { return nil }
        if let expected = request.sha256?.lowercased(), record.sha256 != expected { return nil }
        progress.addFile(layout.fileName, size: file.size)
        progress.reuse(layout.fileName, bytes: file.size, fileComplete: true)
        return DownloadResult(path: layout.finalPath, revision: nil,
                              files: [.init(path: layout.fileName, size: file.size, sha256: record.sha256)],
                              bytesDownloaded: 0, bytesReused: file.size,
                              message: "Already downloaded; reused \(layout.finalPath)")
    }
}

/// A url request with its URL and file name checked.
private struct URLDownloadPlan: DownloadPlan {
    let provider: URLProvider
    let request: DownloadRequest
    let source: URLSource
    let fileName: String

    var secrets: [String] { [request.token].compactMap { $0 } }

    func run(_ context: DownloadContext) async throws -> DownloadResult {
        try await provider.download(self, context: context)
    }
}

/// Where a url download starts: from the bytes an earlier run left, only when they provably
/// belong to the file the server has now (same URL, and a strong validator to send as
/// `If-Range`); otherwise from zero, saying why.
private struct ResumePoint {
    enum Reason { case fresh, resumable, otherURL, noValidator }
    let reason: Reason
    let validator: String?
    /// The file's size when the kept bytes were written, if known.
    var size: Int64? = nil

    static func decide(for source: URLSource, partial: PartialFile, layout: URLDownloadLayout) throws(DownloadFailure) -> ResumePoint {
        let record = PartialRecord.read(layout.partialRecordPath)
        let hasBytes = partial.size > 0 || RangeRecord.load(partialPath: partial.path) != .none
        guard hasBytes else { return ResumePoint(reason: .fresh, validator: nil) }
        if record?.source == source.fingerprint, let validator = record?.validator {
            return ResumePoint(reason: .resumable, validator: validator, size: record?.size)
        }
        try partial.truncate(to: 0)
        RangeRecord.remove(partialPath: partial.path)
        return ResumePoint(reason: record?.source == source.fingerprint ? .noValidator : .otherURL, validator: nil)
    }

    func message(resumedBytes: Int64, name: String) -> String {
        switch reason {
        case .resumable where resumedBytes > 0:
            // Not "Resuming" yet: only the server's answer says whether it can (`ResumeAnnouncer`).
            return "Downloading \(name), asking the server to continue from \(ByteFormat.string(resumedBytes))"
        case .noValidator:
            return "Downloading \(name) from the start: the server gave no ETag or Last-Modified for the bytes kept from an earlier attempt, so they cannot be proven to belong to its current file"
        case .otherURL: return "Downloading \(name) from the start: the bytes kept under this name came from another URL"
        default: return "Downloading \(name)"
        }
    }
}

/// Says "Resuming" once the server has shown it continues the kept bytes: the first progress
/// past them with no restart in between. A server that answers with the whole file restarts it
/// (`WholeBodyRestart`), and then nothing was resumed.
private struct ResumeAnnouncer: Sendable {
    private let kept: Int64
    private let announce: @Sendable () -> Void
    /// Said, or no longer true to say.
    private let settled: LockedValue<Bool>

    init(kept: Int64, announce: @escaping @Sendable () -> Void) {
        self.kept = kept
        self.announce = announce
        settled = LockedValue(kept == 0)
    }

    func progressed(to completed: Int64) {
        let due = settled.withLock { settled -> Bool in
            guard !settled, completed > kept else { return false }
            settled = true
            return true
        }
        if due { announce() }
    }

    /// Any retry before the announcement may have dropped the kept bytes: say nothing then.
    func heardRetry() {
        settled.withLock { $0 = true }
    }
}

/// Keeps the partial record in step with the validator the bytes come with, writing it only
/// when that changes (the first response, or a restart after the remote file changed).
private struct PartialRecorder: Sendable {
    private let path: String
    /// The record as last written (`written` false until the first write).
    private let state: LockedValue<(record: PartialRecord, written: Bool)>

    init(path: String, record: PartialRecord) {
        self.path = path
        state = LockedValue((record, false))
    }

    func record(_ identity: RemoteFileIdentity) throws(DownloadFailure) {
        // Held while writing, so two pieces hearing at once write the record once, in order.
        try state.withLock { (state) throws(DownloadFailure) in
            guard !state.written || state.record.validator != identity.validator || state.record.size != identity.size else { return }
            state.record.validator = identity.validator
            state.record.size = identity.size
            try state.record.write(to: path)
            state.written = true
        }
    }
}
