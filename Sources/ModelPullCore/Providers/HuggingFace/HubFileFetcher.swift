import Foundation

/// What fetching one file cost.
struct HubFileOutcome: Sendable {
    var downloaded: Int64 = 0
    var reused: Int64 = 0

    static func + (lhs: HubFileOutcome, rhs: HubFileOutcome) -> HubFileOutcome {
        HubFileOutcome(downloaded: lhs.downloaded + rhs.downloaded, reused: lhs.reused + rhs.reused)
    }
}

/// Fetches one file into its destination: under the file's lock (shared with huggingface_hub),
/// resuming our partial file (every finished range of it), hashing while writing, and installing
/// it only when size and digest match. A mismatch discards the bytes and tries once more from
/// scratch; a second one is an `integrity` error, and the bad bytes never become a blob or a
/// snapshot entry.
struct HubFileFetcher: Sendable {
    let api: HubAPI
    let destination: any HubDestination
    let progress: JobProgress
    let transfer: FileTransfer
    let commit: String
    let idleTimeout: TimeInterval
    /// Connections for one large file (`connections`, else the tuned default).
    let connections: Int
    /// False only when a benchmark turned verification off.
    let verify: Bool
    let log: LogSink

    func fetch(_ file: HubFile) async throws -> HubFileOutcome {
        let progress = self.progress
        let lock = try await FileLock.acquire(at: destination.lockPlace(for: file)) {
            progress.setMessage("Waiting for another process that is downloading \(file.path)")
        }
        defer { lock.release() }

        // Whoever held the lock before us may have just finished this very file.
        if try await alreadyPresent(file) {
            try destination.adopt(file, commit: commit)
            progress.reuse(file.path, bytes: file.size, fileComplete: true)
            progress.fileFinished(file.path)
            return HubFileOutcome(reused: file.size)
        }

        var transferred: Int64 = 0
        for attempt in 1...2 {
            let partial = try destination.openPartial(for: file)
            let onDisk = RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: file.size)
            if onDisk > 0 { progress.reuse(file.path, bytes: onDisk, fileComplete: false) }
            let outcome: FileTransfer.Outcome
            do {
                outcome = try await fetchBytes(file, into: partial)
            } catch {
                partial.close()
                throw error
            }
            transferred += outcome.transferred
            let actual = outcome.digest?.hex ?? ""
            if outcome.size == file.size, !verify || actual == file.etag {
                try destination.install(partial, as: file, commit: commit)
                RangeRecord.remove(partialPath: partial.path)
                progress.fileFinished(file.path)
                return HubFileOutcome(downloaded: transferred, reused: outcome.resumed)
            }
            partial.discard()
            RangeRecord.remove(partialPath: partial.path)
            let what = outcome.size == file.size
                ? "its \(file.isLFS ? "SHA-256" : "git blob id") is \(actual), the Hub lists \(file.etag)"
                : "it has \(outcome.size) bytes, the Hub lists \(file.size)"
            log(.warning, "\(api.context.model): \(file.path) failed verification on attempt \(attempt): \(what)")
            if attempt == 1 {
                progress.setMessage("\(file.path) failed verification; downloading it again")
                continue
            }
            throw DownloadFailure(.integrity,
                "\(file.path) of '\(api.context.model)' failed verification twice (\(what)). The bad bytes were deleted and nothing was added to the cache; retry later, and report it if it persists.",
                retryable: true,
                details: ["file": .string(file.path), "expected": .string(file.etag), "actual": .string(actual)])
        }
        preconditionFailure("the loop returns or throws")
    }

    /// A file may be present after all: finished by another process, or (in a local folder)
    /// left by an earlier tool without metadata, which we trust only once its digest matches.
    private func alreadyPresent(_ file: HubFile) async throws -> Bool {
        switch destination.presence(of: file, commit: commit) {
        case .complete:
            return true
        case .absent:
            return false
        case .unverified(let path):
            progress.setMessage("Checking the existing \(file.path)")
            var hasher = file.digestAlgorithm.makeHasher()
            do {
                try hasher.update(contentsOf: URL(fileURLWithPath: path))
            } catch {
                return false
            }
            return hasher.finalize().hex == file.etag
        }
    }

    /// A large file: ask the Hub once where its bytes are (the CDN) and send every range there.
    /// A small one: GET `/resolve/` directly, redirects followed, no HEAD (the listing gave its
    /// size and digest).
    private func locate(_ file: HubFile) async throws -> HubFileLocation {
        file.size > transfer.tuning.parallelThreshold
            ? try await api.location(of: file, commit: commit)
            : try api.resolveLocation(of: file, commit: commit)
    }

    /// Fetches the missing bytes. A signed CDN link can expire during a long download; the
    /// storage host then refuses it, and we ask the Hub for a fresh link and continue.
    private func fetchBytes(_ file: HubFile, into partial: PartialFile) async throws -> FileTransfer.Outcome {
        var location = try await locate(file)
        var refreshes = 0
        let progress = self.progress
        while true {
            let before = RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: file.size)
            let source = FetchSource(url: location.url, headers: location.headers, expectedSize: file.size,
                                     idleTimeout: idleTimeout)
            let job = FileTransfer.Job(source: source, partial: partial, digest: verify ? file.digestAlgorithm : nil,
                                       connections: connections)
            do {
                return try await transfer.run(job, observer: TransferObserver(
                    progressed: { progress.advance(file.path, completed: $0) },
                    retrying: { progress.announce("\(file.path): \($0)") }))
            } catch let error as HTTPStatusError {
                if error.head.url.origin == api.settings.endpoint.origin {
                    var context = api.context
                    context.file = file.path
                    throw HubFailures.map(status: error.head.status, headers: error.head.headers, body: error.body, context: context)
                }
                if let refusal = Self.xetBridgeRefusal(error, file: file, model: api.context.model) { throw refusal }
                let expired = [401, 403, 410].contains(error.head.status)
                let moved = RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: file.size) > before
                guard expired, refreshes < 3, refreshes == 0 || moved else {
                    let kept = RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: file.size)
                    throw DownloadFailure(.upstream,
                        "The file host refused \(file.path) of '\(api.context.model)' with HTTP \(error.head.status)\(refreshes > 0 ? ", also with a fresh link from the Hub" : ""). Retry later"
                            + (kept > 0 ? "; the \(ByteFormat.string(kept)) received are kept." : "."),
                        details: ["file": .string(file.path), "httpStatus": .int(Int64(error.head.status))])
                }
                refreshes += 1
                progress.setMessage("\(file.path): the download link expired; asking the Hub for a new one")
                location = try await locate(file)
            }
        }
    }

    /// The Hub's Xet bridge serves Xet-backed files to plain HTTP clients, but answers 400 for
    /// files too large for it to reconstruct (some hundreds of GB, `hf-fidelity.md` A8). Only a
    /// Xet client can fetch those; trying again cannot help, so say what can.
    static func xetBridgeRefusal(_ error: HTTPStatusError, file: HubFile, model: String) -> DownloadFailure? {
        let url = error.head.url
        guard error.head.status == 400,
              (url.host ?? "").contains("xethub") || url.path.contains("/xet-bridge") else { return nil }
        return DownloadFailure(.upstream,
            "The Hub's Xet bridge will not serve \(file.path) of '\(model)' (\(ByteFormat.string(file.size))) over plain HTTP (HTTP 400): it cannot reconstruct files this large. Download this file with a Xet client, e.g. `hf download \(model) \(file.path)` with huggingface_hub and hf_xet installed; the rest of the repo downloads here as usual (use `exclude`).",
            retryable: false, details: ["file": .string(file.path), "httpStatus": .int(400), "xetBridge": .bool(true)])
    }
}
