import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One repo in the huggingface_hub cache, laid out exactly as the Python library lays it out so
/// that huggingface_hub, transformers and mlx-lm load what we write, offline, and we reuse what
/// they wrote:
///
///     {cache}/CACHEDIR.TAG
///     {cache}/.locks/models--{org}--{name}/{etag}.lock        flock, shared with Python
///     {cache}/models--{org}--{name}/blobs/{etag}               verified content, renamed into place
///     {cache}/models--{org}--{name}/blobs/{etag}.modelpull.partial   our resumable bytes
///     {cache}/models--{org}--{name}/snapshots/{commit}/{path}  relative symlink to ../../blobs/{etag}
///     {cache}/models--{org}--{name}/refs/{revision}            40-hex commit, no newline
///     {cache}/models--{org}--{name}/trees/{commit}.json        the commit's whole listing
///
/// `scan_cache_dir` looks only at `snapshots/` and `refs/` inside a repo folder, so the partial
/// files in `blobs/` (which exist only mid-download) never make it warn.
struct HubCacheRepo: Sendable {
    static let partialSuffix = ".modelpull.partial"
    static let cacheDirTag = "Signature: 8a477f597d28d172789f06886806bc55\n"
        + "# This file is a cache directory tag created by huggingface_hub.\n"
        + "# For information about cache directory tags, see:\n"
        + "#\thttps://bford.info/cachedir/\n"

    let cacheRoot: String
    let repoId: String
    /// `HF_HUB_DISABLE_SYMLINKS`: snapshot entries are files, never links (see `usesLinks`).
    var symlinksDisabled = false

    /// `models--org--name`, as `repo_folder_name` builds it.
    static func folderName(for repoId: String) -> String {
        "models--" + repoId.replacingOccurrences(of: "/", with: "--")
    }

    /// The repo id back from a folder name; nil for anything that is not a model repo folder.
    static func repoId(fromFolder name: String) -> String? {
        guard name.hasBytePrefix("models--") else { return nil }
        let id = String(decoding: name.utf8.dropFirst("models--".utf8.count), as: UTF8.self).replacingOccurrences(of: "--", with: "/")
        return id.isEmpty ? nil : id
    }

    var directory: String { repoPlace.path }
    var blobsDirectory: String { blobsPlace.path }
    var snapshotsDirectory: String { snapshotsPlace.path }
    var refsDirectory: String { refsPlace.path }
    var locksDirectory: String { locksPlace.path }

    // Everything below the cache root is reached without following links (see `ConfinedPath`):
    // a shared, group-writable cache may hold links planted by someone else.
    private func place(_ relative: String) -> ConfinedPath { ConfinedPath(root: cacheRoot, relative: relative) }
    var repoPlace: ConfinedPath { place(Self.folderName(for: repoId)) }
    var blobsPlace: ConfinedPath { repoPlace.appending("blobs") }
    var snapshotsPlace: ConfinedPath { repoPlace.appending("snapshots") }
    var refsPlace: ConfinedPath { repoPlace.appending("refs") }
    var locksPlace: ConfinedPath { place(".locks/" + Self.folderName(for: repoId)) }
    /// Held shared by every ModelPull download of this repo, taken alone to clean up (see
    /// `removeLeftoverTemporaries`). huggingface_hub ignores it.
    var repoLockPlace: ConfinedPath { locksPlace.appending("modelpull-repo.lock") }

    func blobPath(_ etag: String) -> String { join(blobsDirectory, etag) }
    func partialPath(_ etag: String) -> String { join(blobsDirectory, etag + Self.partialSuffix) }
    func lockPlace(_ etag: String) -> ConfinedPath { locksPlace.appending(etag + ".lock") }
    func snapshotDirectory(_ commit: String) -> String { join(snapshotsDirectory, commit) }
    func snapshotPlace(_ commit: String, _ file: String) -> ConfinedPath { snapshotsPlace.appending(commit + "/" + file) }

    func createDirectories() throws(DownloadFailure) {
        for place in [blobsPlace, snapshotsPlace, refsPlace, locksPlace] {
            _ = try place.openDirectory(create: true)
        }
        let tag = join(cacheRoot, "CACHEDIR.TAG")
        if !FileManager.default.fileExists(atPath: tag) {
            // Best effort, like Python: backup tools skip the folder; nothing depends on it.
            try? Data(Self.cacheDirTag.utf8).write(to: URL(fileURLWithPath: tag), options: .atomic)
        }
    }

    /// The blob's size when it exists (following a symlink into huggingface_hub's shared store).
    func blobSize(_ etag: String) -> Int64? {
        Filesystem.regularFileSize(blobPath(etag))
    }

    // MARK: Blobs

    /// Our resumable bytes of a blob, opened in a `blobs/` folder that is not a link.
    func openPartial(_ etag: String) throws(DownloadFailure) -> PartialFile {
        try PartialFile(in: blobsPlace.openDirectory(create: true), name: etag + Self.partialSuffix)
    }

    /// Renames verified bytes to `blobs/{etag}` (replacing a link there, never writing through it).
    func installBlob(_ partial: PartialFile, etag: String) throws(DownloadFailure) {
        try partial.commit(into: blobsPlace.openDirectory(create: true), as: etag)
    }

    // MARK: Refs

    /// The commit a ref names. Python reads the file raw; we forgive surrounding whitespace.
    func commit(forRef revision: String) -> String? {
        guard let data = FileManager.default.contents(atPath: join(refsDirectory, revision)),
              let text = String(data: data, encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return HexString.isCommit(commit) ? commit : nil
    }

    static let refTemporaryPrefix = ".modelpull-ref-"
    static let refTemporarySuffix = ".tmp"
    static let linkTemporaryPrefix = ".modelpull-link-"

    /// Writes `refs/{revision}` atomically and without a trailing newline (a newline breaks
    /// huggingface_hub's offline lookup). The temporary file lives in the repo folder, never in
    /// `refs/`, where `scan_cache_dir` would read a leftover as a ref.
    func writeRef(_ revision: String, commit: String) throws(DownloadFailure) {
        let target = refsPlace.appending(revision)
        let folder = try target.openParent(create: true)
        if folder.readFile(target.name).map({ String(decoding: $0, as: UTF8.self) }) == commit { return }
        let repoFolder = try repoPlace.openDirectory(create: false)
        try repoFolder.writeAtomically(Data(commit.utf8), as: target.name, into: folder,
                                       temporaryName: Self.refTemporaryPrefix + UUID().uuidString + Self.refTemporarySuffix)
    }

    // MARK: Snapshot links

    /// Whether snapshot entries are links here: unless `HF_HUB_DISABLE_SYMLINKS` is set or the
    /// cache's filesystem refused one (exFAT, FAT, some network shares), as huggingface_hub's
    /// `are_symlinks_supported` decides. Without links a snapshot entry is the file itself.
    var usesLinks: Bool { !symlinksDisabled && !SymlinkRefusals.shared.contains(cacheRoot) }

    /// Points `snapshots/{commit}/{path}` at `blobs/{etag}` with a relative symlink, as
    /// `_create_symlink` does (`os.path.relpath`), so the cache survives being moved. Snapshot
    /// entries are links by design; a link standing for a folder on the way is not, and is refused.
    /// Where links are refused, the blob is copied there instead (Python's fallback).
    func link(_ path: String, etag: String, commit: String) throws(DownloadFailure) {
        guard usesLinks else { return try placeCopy(path, etag: etag, commit: commit) }
        let entry = snapshotPlace(commit, path)
        let depth = Array(path.utf8).split(separator: UInt8(ascii: "/")).count - 1
        let target = String(repeating: "../", count: 2 + depth) + "blobs/" + etag
        let folder = try entry.openParent(create: true)
        if folder.linkTarget(entry.name) == target { return }
        // Made under a temporary name and renamed over the entry, never unlinked first: another
        // process (ModelPull or huggingface_hub) may be linking the same file right now, and
        // with unlink-then-symlink one of the two would fail with EEXIST. The temporary lives
        // in the repo folder, where `scan_cache_dir` does not look, in case we die in between.
        let repoFolder = try repoPlace.openDirectory(create: false)
        let temporary = Self.linkTemporaryPrefix + UUID().uuidString
        let refused = repoFolder.trySymlink(temporary, pointingTo: target)
        if refused != 0 {
            guard SymlinkRefusals.meansNoLinks(refused) else {
                throw StorageFailure.from(errno: refused, doing: "create the link", path: repoFolder.child(temporary))
            }
            SymlinkRefusals.shared.remember(cacheRoot)
            return try placeCopy(path, etag: etag, commit: commit)
        }
        do {
            try repoFolder.rename(temporary, to: folder, as: entry.name, doing: "create the snapshot link")
        } catch {
            repoFolder.removeFile(temporary)
            throw error
        }
    }

    /// Without links: the blob copied to `snapshots/{commit}/{path}` (through a temporary in the
    /// repo folder, so the entry appears whole), unless the file is already there.
    private func placeCopy(_ path: String, etag: String, commit: String) throws(DownloadFailure) {
        let entry = snapshotPlace(commit, path)
        let folder = try entry.openParent(create: true)
        let blobs = try blobsPlace.openDirectory(create: true)
        if let size = folder.regularFileSize(entry.name), size == blobs.regularFileSize(etag) { return }
        let repoFolder = try repoPlace.openDirectory(create: false)
        try repoFolder.copyFile(etag, from: blobs, to: folder, as: entry.name,
                                temporaryName: Self.linkTemporaryPrefix + UUID().uuidString)
    }

    /// Without links, a freshly verified blob is moved straight to its snapshot entry, as
    /// huggingface_hub moves a new blob (no second copy of a large file on a small drive).
    func installInSnapshot(_ partial: PartialFile, path: String, commit: String) throws(DownloadFailure) {
        let entry = snapshotPlace(commit, path)
        try partial.commit(into: entry.openParent(create: true), as: entry.name)
    }

    /// The size of the file standing as the snapshot entry itself (not a link), for caches
    /// without links.
    func snapshotFileSize(_ path: String, commit: String) -> Int64? {
        let entry = snapshotPlace(commit, path)
        guard let folder = try? entry.openParent(create: false) else { return nil }
        return folder.regularFileSize(entry.name)
    }

    /// Removes what a crash between creating and renaming a temporary link or ref left in the
    /// repo folder. Only ModelPull's own temporary names, only directly in the repo folder,
    /// never following a link, and only while `exclusiveLease` (the repo lock, taken alone) shows
    /// that no other ModelPull download of this repo is between those two steps right now.
    func removeLeftoverTemporaries(exclusiveLease: FileLock) {
        _ = exclusiveLease
        guard let repoFolder = try? repoPlace.openDirectory(create: false) else { return }
        for name in repoFolder.entryNames() where Self.isOurTemporary(name) {
            repoFolder.removeFile(name)  // a folder of that name stays: unlinkat(…, 0) refuses it
        }
    }

    static func isOurTemporary(_ name: String) -> Bool {
        name.hasBytePrefix(linkTemporaryPrefix)
            || (name.hasBytePrefix(refTemporaryPrefix) && name.hasByteSuffix(refTemporarySuffix))
    }

    // MARK: Listings for offline use

    /// `trees/{commit}.json` in the repo folder.
    var treeCache: HubTreeCache { HubTreeCache(folder: repoPlace) }

    /// The files a snapshot folder holds, each known by the blob its link names. A link whose
    /// blob is gone is listed too (with size 0), so offline requests report it as missing.
    func snapshotFiles(_ commit: String) -> [HubFile] {
        let root = snapshotDirectory(commit)
        var files: [HubFile] = []
        // Only names a listing could have given: anything else in the folder was not made by a
        // download and is not trusted as a file of the repo.
        for relative in Filesystem.walk(root) where SafePath.problem(in: relative) == nil {
            let full = join(root, relative)
            let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? ""
            let etag = (destination as NSString).lastPathComponent
            guard HexString.isEtag(etag) else { continue }
            files.append(.fromCachedBlob(path: relative, etag: etag, size: Filesystem.regularFileSize(full) ?? 0))
        }
        return files
    }

    private func join(_ base: String, _ path: String) -> String {
        (base as NSString).appendingPathComponent(path)
    }
}

/// The caches whose filesystem refused a link in this process: from then on their snapshot
/// entries are copies, without trying again for every file.
final class SymlinkRefusals: Sendable {
    static let shared = SymlinkRefusals()
    private let roots = LockedValue(Set<String>())

    func contains(_ root: String) -> Bool { roots.current.contains(root) }
    func remember(_ root: String) { roots.withLock { _ = $0.insert(root) } }

    /// The answers of a filesystem that has no links at all (as opposed to a failure of this one).
    static func meansNoLinks(_ code: Int32) -> Bool {
        code == EPERM || code == EOPNOTSUPP || code == ENOSYS || code == ENOTSUP
    }
}
