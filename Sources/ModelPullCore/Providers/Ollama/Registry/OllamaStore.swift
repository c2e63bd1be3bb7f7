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
