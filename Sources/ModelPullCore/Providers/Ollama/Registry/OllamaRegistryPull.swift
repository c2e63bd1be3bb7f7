import Foundation

/// `source: "registry"`: an Ollama model pulled straight from its registry into Ollama's store,
/// with no server, writing what `ollama pull` writes in the order it writes it: every blob
/// fetched (parallel ranges, resumable), verified against its digest and renamed into place,
/// then the manifest, last and atomically. A crash leaves at most verified blobs and staged
/// bytes, never a manifest naming a blob that is missing or partial.
struct OllamaRegistryPull: Sendable {
    let request: DownloadRequest
    let name: OllamaModelName
    let context: DownloadContext

    func run() async throws -> DownloadResult {
        guard name.kind.isEmpty else {
            throw DownloadFailure(.invalidModel, "'\(request.model)' is an Ollama \(name.kind), which only an Ollama server pulls; use source \"server\".",
                                  retryable: false)
        }
        let progress = context.progress
        let store = OllamaStore(environment: context.environment)
        let registry = try OllamaRegistry(http: context.http, name: name, display: request.model, insecure: request.insecure)
        progress.setMessage("Asking the registry at \(name.host) for \(request.model)")
        let manifest = try await registry.manifest { progress.announce($0) }

        // Totals exact before the first byte: every blob is declared with its size.
        var pending: [OllamaManifest.Blob] = []
        var reused: Int64 = 0
        for blob in manifest.blobs {
            progress.addFile(blob.digest.text, size: blob.size)
            if store.existingBlobSize(blob.digest) == blob.size {
                progress.reuse(blob.digest.text, bytes: blob.size, fileComplete: true)
                reused += blob.size
            } else {
                pending.append(blob)
            }
        }
        try store.prepare(for: name)
        let needed = pending.reduce(Int64(0)) { $0 + $1.size }
        try DiskSpace.ensureRoom(for: needed, at: store.root)
        progress.setStatus(.downloading, pending.isEmpty
            ? "Every layer of \(request.model) is already in the store"
            : "Downloading \(pending.count) layer(s) of \(request.model) from \(name.host)")

        var downloaded: Int64 = 0
        for blob in pending {
            let fetched = try await fetch(blob, from: registry, into: store)
            downloaded += fetched.transferred
            reused += fetched.resumed
        }
        progress.setStatus(.verifying, "Writing the manifest of \(request.model)")
        let previous = store.storedManifest(name)
        try store.writeManifest(manifest.bytes, for: name)
        // A tag that moved (`latest` re-pulled) leaves its old layers; Ollama removes them.
        if let previous, previous.bytes != manifest.bytes { store.pruneReplaced(previous, environment: context.environment) }
        return DownloadResult(
            path: store.manifestPath(name), revision: SHA256.hash(manifest.bytes).hex,
            files: manifest.blobs.map { .init(path: "blobs/sha256-" + $0.digest.hex, size: $0.size, sha256: $0.digest.hex) },
            bytesDownloaded: downloaded, bytesReused: reused,
            message: "\(request.model) is in Ollama's store at \(store.root): \(manifest.blobs.count) blob(s), pulled from \(name.host) without a server")
    }

    /// One blob: staged outside Ollama's garbage collection, resumed from what an earlier run
    /// staged (a blob is named by its digest, so any staged byte is the same content; the digest
    /// check at the end proves it), verified, then given its digest name.
    private func fetch(_ blob: OllamaManifest.Blob, from registry: OllamaRegistry,
                       into store: OllamaStore) async throws -> (transferred: Int64, resumed: Int64) {
        let progress = context.progress
        let label = blob.digest.text
        let partial = try PartialFile(path: store.stagingPath(blob.digest))
        let resumable = RangeRecord.finishedBytes(partialPath: partial.path, expectedSize: blob.size)
        if resumable > 0 { progress.reuse(label, bytes: resumable, fileComplete: false) }
        let source = FetchSource(url: await registry.blobLocation(blob.digest), expectedSize: blob.size,
                                 idleTimeout: request.stallSeconds ?? 30)
        let transfer = FileTransfer(http: context.http, sequential: SequentialFetcher(http: context.http))
        let job = FileTransfer.Job(source: source, partial: partial, digest: .sha256, connections: transfer.tuning.connectionsPerFile)
        let outcome: FileTransfer.Outcome
        do {
            outcome = try await transfer.run(job, observer: TransferObserver(
                progressed: { progress.advance(label, completed: $0) },
                retrying: { progress.announce("\(blob.digest.hex.prefix(12)): \($0)") }))
        } catch let error as HTTPStatusError {
            partial.close()
            throw HTTPFailureMapper.generic(error, url: source.url)
        } catch {
            partial.close()
            throw error
        }
        guard outcome.size == blob.size, outcome.digest?.hex == blob.digest.hex else {
            partial.discard()
            RangeRecord.remove(partialPath: partial.path)
            throw DownloadFailure(.integrity,
                "Layer \(blob.digest.text) of \(request.model) did not match its digest (got \(outcome.digest?.hex ?? "nothing"), \(outcome.size) bytes); it was deleted and no manifest was written. Pull again.",
                retryable: true, details: ["expected": .string(blob.digest.hex), "actual": .string(outcome.digest?.hex ?? "")])
        }
        partial.close()
        RangeRecord.remove(partialPath: partial.path)
        try store.install(partial.path, as: blob.digest)
        progress.fileFinished(label)
        return (outcome.transferred, outcome.resumed)
    }
}
