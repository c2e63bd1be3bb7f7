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
/// resuming our partial file, hashing while writing, and installing it only when size and
/// digest match. A mismatch discards the bytes and tries once more from scratch; a second one is
/// an `integrity` error, and the bad bytes never become a blob or a snapshot entry.
struct HubFileFetcher: Sendable {
    let api: HubAPI
    let destination: any HubDestination
    let progress: JobProgress
    let fetcher: RangedFetcher
    let commit: String
    let idleTimeout: TimeInterval
    let log: LogSink

    func fetch(_ file: HubFile) async throws -> HubFileOutcome {
        let progress = self.progress
        let lock = try await FileLock.acquire(at: destination.lockPath(for: file)) {
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
            let partial = try PartialFile(path: destination.partialPath(for: file))
            if partial.size > file.size { try partial.truncate(to: 0) }
            let start = partial.size
            if start > 0 { progress.reuse(file.path, bytes: start, fileComplete: false) }
            let tally = TransferTally(start: start)
            let sink = try FileSink(file: partial, digest: file.digestAlgorithm) { position in
                tally.record(position)
                progress.advance(file.path, completed: position)
            }
            do {
                if sink.length < file.size { try await transfer(file, into: sink) }
            } catch {
                partial.close()
                throw error
            }
            transferred += tally.total
            let actual = sink.finalizeDigest()?.hex ?? ""
            if sink.length == file.size, actual == file.etag {
                try destination.install(partial, as: file, commit: commit)
                progress.fileFinished(file.path)
                return HubFileOutcome(downloaded: transferred, reused: start)
            }
            partial.discard()
            let what = sink.length == file.size
                ? "its \(file.isLFS ? "SHA-256" : "git blob id") is \(actual), the Hub lists \(file.etag)"
                : "it has \(sink.length) bytes, the Hub lists \(file.size)"
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
        switch destination.presence(of: file) {
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

    /// Streams the missing bytes. A signed CDN link can expire during a long download; the
    /// storage host then refuses it, and we ask the Hub for a fresh link and continue.
    private func transfer(_ file: HubFile, into sink: FileSink) async throws {
        var location = try await api.location(of: file, commit: commit)
        var refreshes = 0
        while true {
            let before = sink.length
            let source = FetchSource(url: location.url, headers: location.headers, expectedSize: file.size,
                                     idleTimeout: idleTimeout)
            do {
                _ = try await fetcher.fetch(source, into: sink, onRetry: { [progress] in
                    progress.setMessage("\(file.path): \($0)")
                })
                return
            } catch let error as HTTPStatusError {
                let onHub = location.url.origin == api.settings.endpoint.origin
                if onHub {
                    var context = api.context
                    context.file = file.path
                    throw HubFailures.map(status: error.head.status, headers: error.head.headers, body: error.body, context: context)
                }
                let expired = [401, 403, 410].contains(error.head.status)
                guard expired, refreshes < 3, refreshes == 0 || sink.length > before else {
                    throw DownloadFailure(.upstream,
                        "The file host refused \(file.path) of '\(api.context.model)' with HTTP \(error.head.status)\(refreshes > 0 ? ", also with a fresh link from the Hub" : ""). Retry later; the bytes received are kept.",
                        details: ["file": .string(file.path), "httpStatus": .int(Int64(error.head.status))])
                }
                refreshes += 1
                progress.setMessage("\(file.path): the download link expired; asking the Hub for a new one")
                location = try await api.location(of: file, commit: commit)
            }
        }
    }
}

/// Bytes that actually crossed the network for one file, from the sink's positions: a restart
/// (the server ignored a range) counts what is sent again, a resume does not count what was
/// already on disk.
private final class TransferTally: @unchecked Sendable {
    private let lock = NSLock()
    private var last: Int64
    private var sum: Int64 = 0

    init(start: Int64) { last = start }

    func record(_ position: Int64) {
        lock.lock(); defer { lock.unlock() }
        if position < last { last = 0 }
        sum += position - last
        last = position
    }

    var total: Int64 {
        lock.lock(); defer { lock.unlock() }
        return sum
    }
}
