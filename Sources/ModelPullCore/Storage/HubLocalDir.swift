import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `localDir` download: plain files, laid out like `hf download --local-dir` so that the
/// Python tool and ModelPull recognise each other's work:
///
///     {dir}/{path}                                               the file itself
///     {dir}/.cache/huggingface/download/{path}.metadata          "{commit}\n{etag}\n{timestamp}\n"
///     {dir}/.cache/huggingface/download/{path}.lock              flock, shared with Python
///     {dir}/.cache/huggingface/download/{dir of path}/{etag}.modelpull.partial   resumable bytes
///     {dir}/.cache/huggingface/.gitignore, CACHEDIR.TAG
struct HubLocalDir: Sendable {
    let root: String

    /// Where Python keeps its bookkeeping; everything of ours lives there too.
    var stateDirectory: String { join(root, ".cache/huggingface") }
    var downloadDirectory: String { join(stateDirectory, "download") }

    func filePath(_ path: String) -> String { join(root, path) }
    func metadataPath(_ path: String) -> String { join(downloadDirectory, path + ".metadata") }
    func lockPath(_ path: String) -> String { join(downloadDirectory, path + ".lock") }

    /// Named by content, so resumed bytes always belong to the same file; kept beside the metadata
    /// (not named after the file) so long file names cannot overflow NAME_MAX.
    func partialPath(_ path: String, etag: String) -> String {
        join((metadataPath(path) as NSString).deletingLastPathComponent, etag + HubCacheRepo.partialSuffix)
    }

    func prepare() throws(DownloadFailure) {
        try Filesystem.createDirectory(downloadDirectory)
        let gitignore = join(stateDirectory, ".gitignore")
        if !FileManager.default.fileExists(atPath: gitignore) {
            try? Data("*".utf8).write(to: URL(fileURLWithPath: gitignore), options: .atomic)
        }
        let tag = join(stateDirectory, "CACHEDIR.TAG")
        if !FileManager.default.fileExists(atPath: tag) {
            try? Data(HubCacheRepo.cacheDirTag.utf8).write(to: URL(fileURLWithPath: tag), options: .atomic)
        }
    }

    func prepareParents(of path: String) throws(DownloadFailure) {
        try Filesystem.createDirectory((filePath(path) as NSString).deletingLastPathComponent)
        try Filesystem.createDirectory((metadataPath(path) as NSString).deletingLastPathComponent)
    }

    struct Metadata: Equatable {
        var commit: String
        var etag: String
        var timestamp: Double
    }

    /// The metadata of `path`, trusted only while the file is unchanged since it was written
    /// (Python's rule: `mtime - 1 <= timestamp`).
    func metadata(_ path: String) -> Metadata? {
        guard let text = try? String(contentsOfFile: metadataPath(path), encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3, let timestamp = Double(lines[2]) else { return nil }
        guard let modified = Filesystem.modificationDate(filePath(path)),
              modified.timeIntervalSince1970 - 1 <= timestamp else { return nil }
        return Metadata(commit: lines[0], etag: lines[1], timestamp: timestamp)
    }

    func writeMetadata(_ path: String, commit: String, etag: String) throws(DownloadFailure) {
        let text = "\(commit)\n\(etag)\n\(Date().timeIntervalSince1970)\n"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: metadataPath(path)), options: .atomic)
        } catch {
            throw DownloadFailure(.storage, "Cannot write \(metadataPath(path)): \(error.localizedDescription)", retryable: false)
        }
    }

    /// Every file with trusted metadata, for offline requests.
    func recordedFiles() -> [(file: HubFile, commit: String)] {
        Filesystem.walk(downloadDirectory).compactMap { relative in
            guard relative.hasSuffix(".metadata") else { return nil }
            let path = String(relative.dropLast(".metadata".count))
            guard let record = metadata(path), HexString.isEtag(record.etag),
                  let size = Filesystem.regularFileSize(filePath(path)) else { return nil }
            return (HubFile.fromCachedBlob(path: path, etag: record.etag, size: size), record.commit)
        }
    }

    private func join(_ base: String, _ path: String) -> String {
        (base as NSString).appendingPathComponent(path)
    }
}
