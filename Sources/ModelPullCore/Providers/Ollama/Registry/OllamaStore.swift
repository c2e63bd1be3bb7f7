import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ollama's model store on disk, laid out as Ollama lays it out (`manifest/paths.go`):
/// `blobs/sha256-<hex>` and `manifests/<host>/<namespace>/<model>/<tag>`, folders 0755, files
/// 0644. Bytes in transit stay in `blobs/.modelpull/`: Ollama's garbage collection deletes
/// unknown top-level files in `blobs/` but skips subfolders, and trusts any file already named
/// like a blob, so a blob gets its name only once its digest is verified.
struct OllamaStore: Sendable {
    let root: String

    /// `OLLAMA_MODELS` as Ollama reads it (whitespace and quotes trimmed, no `~` expansion),
    /// else `$HOME/.ollama/models`.
    init(environment: ProcessEnvironment) {
        let configured = environment["OLLAMA_MODELS"]?.trimmingCharacters(in: CharacterSet.whitespaces.union(["\"", "'"]))
        if let configured, !configured.isEmpty {
            root = configured
        } else {
            root = (environment.homeDirectory as NSString).appendingPathComponent(".ollama/models")
        }
    }

    var blobsFolder: String { root + "/blobs" }
    var stagingFolder: String { root + "/blobs/.modelpull" }

    func blobPath(_ digest: OllamaDigest) -> String { blobsFolder + "/sha256-" + digest.hex }
    func stagingPath(_ digest: OllamaDigest) -> String { stagingFolder + "/sha256-" + digest.hex + ".partial" }

    func manifestPath(_ name: OllamaModelName) -> String {
        [root, "manifests", name.host, name.namespace, name.model, name.tag].joined(separator: "/")
    }

    /// The size of the blob already in the store, if a regular file is there.
    func existingBlobSize(_ digest: OllamaDigest) -> Int64? {
        Filesystem.regularFileSize(blobPath(digest))
    }

    /// Creates the folders a pull writes into, 0755 as Ollama makes them.
    func prepare(for name: OllamaModelName) throws(DownloadFailure) {
        for folder in [blobsFolder, stagingFolder, (manifestPath(name) as NSString).deletingLastPathComponent] {
            try Filesystem.createDirectory(folder)
        }
    }

    /// Puts a verified blob in place under its digest name, 0644.
    func install(_ staged: String, as digest: OllamaDigest) throws(DownloadFailure) {
        chmod(staged, 0o644)
        guard rename(staged, blobPath(digest)) == 0 else {
            throw StorageFailure.from(errno: errno, doing: "put in place", path: blobPath(digest))
        }
    }

    /// Writes the manifest last and atomically: to a temporary outside the four-level manifest
    /// tree Ollama globs, then renamed, so no one ever reads half a manifest or one that names a
    /// blob not yet in place.
    func writeManifest(_ bytes: Data, for name: OllamaModelName) throws(DownloadFailure) {
        let final = manifestPath(name)
        let temporary = root + "/manifests/.modelpull-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: temporary, contents: bytes,
                                             attributes: [.posixPermissions: 0o644]) else {
            throw StorageFailure.from(errno: errno == 0 ? EIO : errno, doing: "write", path: temporary)
        }
        chmod(temporary, 0o644)
        guard rename(temporary, final) == 0 else {
            let code = errno
            unlink(temporary)
            throw StorageFailure.from(errno: code, doing: "put in place", path: final)
        }
    }
}

// MARK: Reading and deleting without a server

extension OllamaStore {
    /// One model in the store: where its manifest is and what it names.
    struct Entry {
        var name: OllamaModelName
        var manifestPath: String
        var manifest: OllamaManifest
    }

    /// Whether there is a store here at all (a folder of manifests).
    var exists: Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: root + "/manifests", isDirectory: &isFolder) && isFolder.boolValue
    }

    /// Every manifest at the depth Ollama globs (`manifests/*/*/*/*`); unreadable ones are skipped.
    func entries() -> [Entry] {
        let manifests = root + "/manifests"
        var found: [Entry] = []
        func children(_ path: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        }
        for host in children(manifests) {
            for namespace in children(manifests + "/" + host) {
                for model in children([manifests, host, namespace].joined(separator: "/")) {
                    for tag in children([manifests, host, namespace, model].joined(separator: "/")) {
                        let path = [manifests, host, namespace, model, tag].joined(separator: "/")
                        let name = OllamaModelName(host: host, namespace: namespace, kind: "", model: model, tag: tag)
                        guard let bytes = FileManager.default.contents(atPath: path),
                              let manifest = try? OllamaManifest(bytes, name: name.display) else { continue }
                        found.append(Entry(name: name, manifestPath: path, manifest: manifest))
                    }
                }
            }
        }
        return found
    }

    /// `models/list` entries, read from the manifests: size is the sum of the blobs, complete
    /// when every blob is present at its size, the digest is the manifest's (Ollama's model id).
    func localModels() -> [LocalModel] {
        entries().map { entry in
            let size = entry.manifest.blobs.reduce(Int64(0)) { $0 + $1.size }
            let complete = entry.manifest.blobs.allSatisfy { existingBlobSize($0.digest) == $0.size }
            return LocalModel(provider: "ollama", model: entry.name.display, path: entry.manifestPath, sizeBytes: size,
                              complete: complete, digest: "sha256:" + SHA256.hash(entry.manifest.bytes).hex,
                              modifiedAt: Filesystem.modificationDate(entry.manifestPath))
        }
    }

    /// Removes a model's manifest, then the blobs no other manifest names (as `ollama rm` does).
    func delete(_ name: OllamaModelName) throws(DownloadFailure) -> DeletionResult {
        let all = entries()
        guard let target = all.first(where: { $0.name == name }) else {
            throw DownloadFailure(.notFound, "\(name.display) is not in Ollama's store at \(root).", retryable: false)
        }
        guard unlink(target.manifestPath) == 0 else {
            throw StorageFailure.from(errno: errno, doing: "remove", path: target.manifestPath)
        }
        let freed = removeUnnamed(target.manifest.blobs, named: all.filter { $0.manifestPath != target.manifestPath })
        return DeletionResult(deleted: true, freedBytes: freed,
                              message: "Deleted \(name.display) from Ollama's store at \(root); blobs other models use were kept.")
    }
}

// MARK: Pruning

extension OllamaStore {
    /// The manifest stored for `name` now, if one is there and parses.
    func storedManifest(_ name: OllamaModelName) -> OllamaManifest? {
        FileManager.default.contents(atPath: manifestPath(name)).flatMap { try? OllamaManifest($0, name: name.display) }
    }

    /// After a tag's manifest was replaced, the old manifest's blobs that no manifest names any
    /// more, removed as `ollama pull` removes them (`server/images.go`, `deleteUnusedLayers`), unless
    /// `OLLAMA_NOPRUNE` is set as Ollama reads it. Returns the bytes freed.
    @discardableResult
    func pruneReplaced(_ previous: OllamaManifest, environment: ProcessEnvironment) -> Int64 {
        guard !Self.noPrune(environment) else { return 0 }
        return removeUnnamed(previous.blobs, named: entries())
    }

    /// Ollama's `envconfig.Bool`: unset or empty is false, `strconv.ParseBool`'s spellings say
    /// what they say, and anything else set counts as true.
    static func noPrune(_ environment: ProcessEnvironment) -> Bool {
        guard let value = environment["OLLAMA_NOPRUNE"]?.trimmingCharacters(in: CharacterSet.whitespaces.union(["\"", "'"])),
              !value.isEmpty else { return false }
        return !["0", "f", "F", "FALSE", "false", "False"].contains(value)
    }

    /// Unlinks each of `blobs` that none of `manifests` names; returns the bytes freed.
    private func removeUnnamed(_ blobs: [OllamaManifest.Blob], named manifests: [Entry]) -> Int64 {
        let stillNamed = Set(manifests.flatMap { $0.manifest.blobs.map(\.digest) })
        var freed: Int64 = 0
        for blob in blobs where !stillNamed.contains(blob.digest) {
            let size = existingBlobSize(blob.digest) ?? 0
            if unlink(blobPath(blob.digest)) == 0 { freed += size }
        }
        return freed
    }
}

extension OllamaModelName {
    /// The name as `ollama list` shows it: the default registry and namespace left out.
    var display: String {
        let prefix = host == Self.defaultHost && namespace == Self.defaultNamespace ? ""
            : host == Self.defaultHost ? namespace + "/" : host + "/" + namespace + "/"
        return prefix + model + ":" + tag
    }
}
