import Foundation

/// The commit and files a download will deliver, known before the first byte moves.
struct HubSnapshot: Sendable {
    var commit: String
    var files: [HubFile]
    /// The commit's whole listing, when it came from the Hub (kept as `trees/{commit}.json`).
    var listing: [HubFile]?
    /// Why the cache answered instead of the Hub (huggingface_hub's fallback), if it did.
    var fallback: String?
}

/// The engine behind the `huggingface` and `mlx` providers: resolve (revision → commit, listing,
/// selection), then fetch several files at once into the cache or a local folder, then record the
/// revision. Offline (`HF_HUB_OFFLINE=1`) the snapshot comes from the cache and nothing is fetched;
/// so it does when the Hub cannot answer and the cache holds the revision complete.
struct HubDownloader: Sendable {
    let flavor: HubFlavor
    let fetcher: @Sendable (HTTPClient) -> SequentialFetcher
    let retry: RetryPolicy

    func download(_ prepared: HubDownloadPlan, context: DownloadContext) async throws -> DownloadResult {
        let request = prepared.request
        let reference = prepared.reference
        let revision = prepared.revision
        let settings = try HubSettings(request: request, repoId: reference.repoId, environment: context.environment)
        let destination = settings.destination
        let progress = context.progress
        let selection = HubFileSelection(flavor: flavor, reference: reference, include: request.include, exclude: request.exclude)
        let errorContext = HubErrorContext(model: reference.repoId, revision: revision, endpoint: settings.endpoint,
                                           authenticated: settings.token != nil)
        let endpoint = settings.endpoint
        func api(_ retry: RetryPolicy) -> HubAPI {
            let requester = APIRequester(http: context.http, retry: retry, peer: "the Hub",
                                         unreachable: { HubFailures.unreachable(endpoint, reason: $0) },
                                         onRetry: { progress.setMessage($0) })
            return HubAPI(settings: settings, requester: requester, context: errorContext)
        }

        let snapshot = settings.offline
            ? try offlineSnapshot(reference, revision: revision, destination: destination, selection: selection, secrets: settings.secrets)
            : try await hubOrCacheSnapshot(reference, revision: revision, destination: destination, selection: selection,
                                           secrets: settings.secrets, api: api, progress: progress)
        if let reason = snapshot.fallback {
            return answerFromCache(snapshot, reason: reason, reference: reference, revision: revision,
                                   destination: destination, context: context)
        }
        let api = api(retry)

        context.log(.info, "\(flavor.providerName): \(reference.repoId)@\(revision) is commit \(snapshot.commit); \(snapshot.files.count) file(s), "
            + "\(ByteFormat.string(snapshot.files.reduce(0) { $0 + $1.size })), into \(destination.location)\(settings.offline ? " (offline)" : "")")
        var totals = HubFileOutcome()
        var present: [HubFile] = []
        var pending: [HubFile] = []
        var partialBytes: Int64 = 0
        for file in snapshot.files {
            progress.addFile(file.path, size: file.size)
            if destination.presence(of: file, commit: snapshot.commit) == .complete {
                progress.reuse(file.path, bytes: file.size, fileComplete: true)
                totals.reused += file.size
                present.append(file)
            } else {
                // Declared up front so the first progress event already counts resumable bytes.
                let resumable = RangeRecord.finishedBytes(partialPath: destination.partialPath(for: file), expectedSize: file.size)
                if resumable > 0 { progress.reuse(file.path, bytes: resumable, fileComplete: false) }
                partialBytes += resumable
                pending.append(file)
            }
        }
        // Before creating anything, so a download that cannot fit leaves no trace in the cache.
        let needed = pending.reduce(Int64(0)) { $0 + $1.size } - partialBytes
        try DiskSpace.ensureRoom(for: needed, at: Self.existingAncestor(of: destination.spaceCheckPath))
        let lease = try destination.prepare(commit: snapshot.commit)
        defer { lease?.release() }
        if let listing = snapshot.listing { destination.recordListing(listing, commit: snapshot.commit) }
        for file in present { try destination.adopt(file, commit: snapshot.commit) }

        if !pending.isEmpty {
            progress.setStatus(.downloading, "Downloading \(pending.count) file(s) of \(reference.repoId)"
                + (present.isEmpty ? "" : " (\(present.count) already present)"))
            let transfer = FileTransfer(http: context.http, sequential: fetcher(context.http))
            let fileFetcher = HubFileFetcher(api: api, destination: destination, progress: progress,
                                             transfer: transfer, commit: snapshot.commit,
                                             idleTimeout: settings.downloadTimeout,
                                             connections: request.connections ?? transfer.tuning.connectionsPerFile,
                                             verify: BenchmarkSwitches.verifies(context), log: context.log)
            // As many files at once as the connection budget has slots: every request takes a
            // slot, so many small files share kept-alive connections and large ones split theirs.
            let parallel = context.http.connectionBudget.capacity
            totals = totals + (try await fetchAll(pending, with: fileFetcher, parallel: parallel))
        }

        progress.setStatus(.verifying, "Checking \(snapshot.files.count) file(s) at commit \(snapshot.commit.prefix(12))")
        for file in snapshot.files where destination.presence(of: file, commit: snapshot.commit) != .complete {
            throw DownloadFailure(.storage,
                "\(file.path) of '\(reference.repoId)' is missing from \(destination.resultPath(commit: snapshot.commit)) after download; another program may have removed it. Retry.",
                retryable: true)
        }
        try destination.finish(commit: snapshot.commit, revision: revision)

        return DownloadResult(
            path: destination.resultPath(commit: snapshot.commit), revision: snapshot.commit,
            files: snapshot.files.map { .init(path: $0.path, size: $0.size, sha256: $0.lfsSHA256) },
            bytesDownloaded: totals.downloaded, bytesReused: totals.reused,
            message: pending.isEmpty ? "All \(snapshot.files.count) file(s) were already present; nothing was downloaded." : nil)
    }

    // MARK: Planning

    private func onlineSnapshot(_ reference: HubModelReference, revision: String, api: HubAPI,
                            selection: HubFileSelection, progress: JobProgress) async throws -> HubSnapshot {
        progress.setMessage("Resolving \(reference.repoId)@\(revision)")
        let commit = try await api.resolveCommit(revision)
        progress.setMessage("Listing the files of \(reference.repoId) at \(commit.prefix(12))")
        let listing = try await api.listFiles(commit: commit)
        return HubSnapshot(commit: commit, files: try selection.select(from: listing, commit: commit), listing: listing)
    }

    /// Online, with huggingface_hub's fallback: when the Hub cannot answer (`HubCacheFallback`)
    /// and the cache holds the revision complete, that snapshot. Only a revision the cache has a
    /// snapshot of can be answered there; for one, a single attempt tells whether the Hub answers,
    /// as Python's single `repo_info` call does, and the completeness check (a listing and a stat
    /// per file) waits for a failure. When the cache cannot answer after all, the Hub gets its
    /// whole retry budget.
    private func hubOrCacheSnapshot(_ reference: HubModelReference, revision: String, destination: any HubDestination,
                                    selection: HubFileSelection, secrets: [String], api: (RetryPolicy) -> HubAPI,
                                    progress: JobProgress) async throws -> HubSnapshot {
        let cachedCommit = destination.cachedCommit(for: revision)
        let cacheMayAnswer = cachedCommit.map { FileManager.default.fileExists(atPath: destination.resultPath(commit: $0)) } ?? false
        do {
            return try await onlineSnapshot(reference, revision: revision, api: api(cacheMayAnswer ? .singleAttempt : retry),
                                            selection: selection, progress: progress)
        } catch let failure as DownloadFailure {
            guard cacheMayAnswer, let reason = HubCacheFallback.reason(toServeCacheAfter: failure) else { throw failure }
            if var cached = try? offlineSnapshot(reference, revision: revision, destination: destination, selection: selection, secrets: secrets) {
                cached.fallback = reason
                return cached
            }
            guard failure.retryable else { throw failure }
            return try await onlineSnapshot(reference, revision: revision, api: api(retry), selection: selection, progress: progress)
        }
    }

    /// huggingface_hub's answer when the Hub cannot give one and the cache holds the revision
    /// complete: that snapshot, with nothing fetched and nothing written (no ref moves).
    private func answerFromCache(_ snapshot: HubSnapshot, reason: String, reference: HubModelReference, revision: String,
                                 destination: any HubDestination, context: DownloadContext) -> DownloadResult {
        for file in snapshot.files {
            context.progress.addFile(file.path, size: file.size)
            context.progress.reuse(file.path, bytes: file.size, fileComplete: true)
        }
        let message = "\(reason); answered from the cache: \(reference.repoId)@\(revision) is commit \(snapshot.commit) there, "
            + "with all \(snapshot.files.count) file(s). Nothing was downloaded."
        context.log(.warning, "\(flavor.providerName): \(message)")
        return DownloadResult(
            path: destination.resultPath(commit: snapshot.commit), revision: snapshot.commit,
            files: snapshot.files.map { .init(path: $0.path, size: $0.size, sha256: $0.lfsSHA256) },
            bytesDownloaded: 0, bytesReused: snapshot.files.reduce(0) { $0 + $1.size }, message: message)
    }

    /// Offline, the cache is the only source: the commit from `refs/`, the files from the cached
    /// listing (or what the snapshot holds). Complete is a success; anything missing is named.
    private func offlineSnapshot(_ reference: HubModelReference, revision: String, destination: any HubDestination,
                             selection: HubFileSelection, secrets: [String]) throws(DownloadFailure) -> HubSnapshot {
        let model = reference.repoId
        guard let commit = destination.cachedCommit(for: revision) else {
            throw DownloadFailure(.notFound,
                "HF_HUB_OFFLINE is set and '\(model)' at revision '\(revision)' is not in the cache (\(destination.location)). Unset HF_HUB_OFFLINE to download it.",
                retryable: false, details: ["offline": .bool(true)])
        }
        let listing = destination.cachedFiles(commit: commit)
        // Names on disk may come from an earlier tool that echoed the token into them: the same
        // rule as for a listing, before any name is reported.
        for file in listing { try SafePath.validate(file.path, what: "cached file name", secrets: secrets) }
        guard !listing.isEmpty else {
            throw DownloadFailure(.notFound,
                "HF_HUB_OFFLINE is set and no file of '\(model)' at commit \(commit.prefix(12)) is in the cache. Unset HF_HUB_OFFLINE to download it.",
                retryable: false, details: ["offline": .bool(true)])
        }
        let files = try selection.select(from: listing, commit: commit)
        let missing = files.filter { destination.presence(of: $0, commit: commit) != .complete }.map(\.path)
        guard missing.isEmpty else {
            let shown = missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? " and \(missing.count - 5) more" : "")
            throw DownloadFailure(.notFound,
                "HF_HUB_OFFLINE is set and '\(model)' at commit \(commit.prefix(12)) is incomplete in the cache: missing \(shown). Unset HF_HUB_OFFLINE to download the rest.",
                retryable: false, details: ["offline": .bool(true), "missing": .strings(missing)])
        }
        return HubSnapshot(commit: commit, files: files)
    }

    /// The path itself or its closest existing parent: free space is a property of the
    /// filesystem, and the cache folder may not exist yet on the first download.
    static func existingAncestor(of path: String) -> String {
        var candidate = path
        while !FileManager.default.fileExists(atPath: candidate), candidate != "/", !candidate.isEmpty {
            candidate = (candidate as NSString).deletingLastPathComponent
        }
        return candidate.isEmpty ? "/" : candidate
    }

    // MARK: Fetching

    /// Largest files first so the slowest transfer starts earliest; at most `parallel` at once.
    /// The first failure cancels the others (their partial files stay for the next run).
    private func fetchAll(_ files: [HubFile], with fetcher: HubFileFetcher, parallel: Int) async throws -> HubFileOutcome {
        let queue = files.sorted { $0.size > $1.size }
        return try await withThrowingTaskGroup(of: HubFileOutcome.self) { group in
            var next = queue.makeIterator()
            for _ in 0..<min(parallel, queue.count) {
                if let file = next.next() { group.addTask { try await fetcher.fetch(file) } }
            }
            var sum = HubFileOutcome()
            while let outcome = try await group.next() {
                sum = sum + outcome
                if let file = next.next() { group.addTask { try await fetcher.fetch(file) } }
            }
            return sum
        }
    }
}
