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
///     {dir}/.cache/huggingface/trees/{commit}.json                 the commit's whole listing
///     {dir}/.cache/huggingface/.gitignore, CACHEDIR.TAG
struct HubLocalDir: Sendable {
    let root: String

    /// Where Python keeps its bookkeeping; everything of ours lives there too. Listed paths can
    /// never land in it (`SafePath` reserves `.cache/huggingface`).
    var statePlace: ConfinedPath { place(".cache/huggingface") }
    var downloadPlace: ConfinedPath { statePlace.appending("download") }
    var downloadDirectory: String { downloadPlace.path }
    /// `trees/{commit}.json` beside Python's download bookkeeping (`tree_cache_folder_for_local_dir`).
    var treeCache: HubTreeCache { HubTreeCache(folder: statePlace) }

    // Everything below `root` is reached without following links (see `ConfinedPath`): a
    // planted `sub -> /elsewhere` must not carry `sub/file` out of the folder.
    private func place(_ relative: String) -> ConfinedPath { ConfinedPath(root: root, relative: relative) }
    func filePlace(_ path: String) -> ConfinedPath { place(path) }
    func filePath(_ path: String) -> String { filePlace(path).path }
    func metadataPlace(_ path: String) -> ConfinedPath { downloadPlace.appending(path + ".metadata") }
    func lockPlace(_ path: String) -> ConfinedPath { downloadPlace.appending(path + ".lock") }

    /// Named by content, so resumed bytes always belong to the same file; kept beside the metadata
    /// (not named after the file) so long file names cannot overflow NAME_MAX.
    func partialPlace(_ path: String, etag: String) -> ConfinedPath {
        metadataPlace(path).parent.appending(etag + HubCacheRepo.partialSuffix)
    }

    func prepare() throws(DownloadFailure) {
        let state = try statePlace.openDirectory(create: true)
        _ = try downloadPlace.openDirectory(create: true)
        // Best effort, like Python: nothing depends on these two.
        if !state.exists(".gitignore") { try? state.writeAtomically(Data("*".utf8), as: ".gitignore") }
        if !state.exists("CACHEDIR.TAG") { try? state.writeAtomically(Data(HubCacheRepo.cacheDirTag.utf8), as: "CACHEDIR.TAG") }
    }

    /// Renames verified bytes to `path` (its folders made, none of them followed if a link).
    func install(_ partial: PartialFile, as path: String) throws(DownloadFailure) {
        let target = filePlace(path)
        try partial.commit(into: target.openParent(create: true), as: target.name)
    }

    struct Metadata: Equatable {
        var commit: String
        var etag: String
        var timestamp: Double
    }

    /// The metadata of `path`, trusted only while the file is unchanged since it was written
    /// (Python's rule: `mtime - 1 <= timestamp`).
    func metadata(_ path: String) -> Metadata? {
        let record = metadataPlace(path)
        guard let data = (try? record.openParent(create: false))?.readFile(record.name) else { return nil }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3, let timestamp = Double(lines[2]) else { return nil }
        let file = filePlace(path)
        guard let modified = (try? file.openParent(create: false))?.modificationTime(file.name),
              modified - 1 <= timestamp else { return nil }
        return Metadata(commit: lines[0], etag: lines[1], timestamp: timestamp)
    }

    func writeMetadata(_ path: String, commit: String, etag: String) throws(DownloadFailure) {
        let text = "\(commit)\n\(etag)\n\(Date().timeIntervalSince1970)\n"
        let record = metadataPlace(path)
        try record.openParent(create: true).writeAtomically(Data(text.utf8), as: record.name)
    }

    /// Every file with trusted metadata, for offline requests.
    func recordedFiles() -> [(file: HubFile, commit: String)] {
        Filesystem.walk(downloadDirectory).compactMap { relative in
            guard relative.hasByteSuffix(".metadata") else { return nil }
            let path = String(decoding: relative.utf8.dropLast(".metadata".utf8.count), as: UTF8.self)
            guard (try? SafePath.validate(path)) != nil, let record = metadata(path), HexString.isEtag(record.etag),
                  let size = filePlace(path).regularFileSize() else { return nil }
            return (HubFile.fromCachedBlob(path: path, etag: record.etag, size: size), record.commit)
        }
    }
}
