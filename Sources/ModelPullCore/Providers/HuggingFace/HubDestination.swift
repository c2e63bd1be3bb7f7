import Foundation

/// Whether a file is already where it belongs.
enum HubFilePresence: Equatable {
    /// Present and trusted (a blob named by its digest, or a local file with matching metadata).
    case complete
    /// A local file of the right size without metadata: hash it before trusting it.
    case unverified(path: String)
    case absent
}

/// Where a Hub download lands: the shared cache (blobs + snapshot links) or a plain folder.
/// The fetch logic is the same for both; only these placements differ.
protocol HubDestination: Sendable {
    /// What the result's `path` is: the snapshot folder, or the local folder.
    func resultPath(commit: String) -> String
    /// A folder on the filesystem that will receive the bytes, for the free-space check.
    var spaceCheckPath: String { get }
    /// Where the model lives, for messages.
    var location: String { get }
    /// Creates the folders; returns a lock to hold until the download ends, if the layout has one.
    func prepare(commit: String) throws(DownloadFailure) -> FileLock?
    func presence(of file: HubFile, commit: String) -> HubFilePresence
    /// Where the partial file is, for reading how much of it is done.
    func partialPath(for file: HubFile) -> String
    /// Opens (creating) the partial file, through no link.
    func openPartial(for file: HubFile) throws(DownloadFailure) -> PartialFile
    func lockPlace(for file: HubFile) -> ConfinedPath
    /// Moves verified bytes into place and makes them visible under the file's path.
    func install(_ partial: PartialFile, as file: HubFile, commit: String) throws(DownloadFailure)
    /// Makes a file that was already present visible for this commit (a snapshot link, metadata).
    func adopt(_ file: HubFile, commit: String) throws(DownloadFailure)
    /// Keeps the commit's whole listing (`trees/{commit}.json`) for offline use, by us and Python.
    func recordListing(_ files: [HubFile], commit: String)
    /// Records that `revision` now means `commit`, once every file is in place.
    func finish(commit: String, revision: String) throws(DownloadFailure)

    /// Offline: the commit `revision` names locally, and the files known for it.
    func cachedCommit(for revision: String) -> String?
    func cachedFiles(commit: String) -> [HubFile]
}

struct HubCacheDestination: HubDestination {
    let repo: HubCacheRepo

    func resultPath(commit: String) -> String { repo.snapshotDirectory(commit) }
    var spaceCheckPath: String { repo.blobsDirectory }
    var location: String { repo.directory }

    /// Every ModelPull download of the repo holds the repo lock shared; the first to find it
    /// free takes it alone for a moment and removes temporaries a crash left behind.
    func prepare(commit: String) throws(DownloadFailure) -> FileLock? {
        try repo.createDirectories()
        if let exclusive = try FileLock.take(at: repo.repoLockPlace, exclusive: true) {
            repo.removeLeftoverTemporaries(exclusiveLease: exclusive)
            exclusive.downgradeToShared()
            return exclusive
        }
        return try FileLock.take(at: repo.repoLockPlace, exclusive: false)
    }

    /// The blob, or (in a cache without links) the snapshot entry that is the file itself.
    func presence(of file: HubFile, commit: String) -> HubFilePresence {
        if repo.blobSize(file.etag) == file.size { return .complete }
        if !repo.usesLinks, repo.snapshotFileSize(file.path, commit: commit) == file.size { return .complete }
        return .absent
    }

    func partialPath(for file: HubFile) -> String { repo.partialPath(file.etag) }
    func openPartial(for file: HubFile) throws(DownloadFailure) -> PartialFile { try repo.openPartial(file.etag) }
    func lockPlace(for file: HubFile) -> ConfinedPath { repo.lockPlace(file.etag) }

    func install(_ partial: PartialFile, as file: HubFile, commit: String) throws(DownloadFailure) {
        guard repo.usesLinks else { return try repo.installInSnapshot(partial, path: file.path, commit: commit) }
        try repo.installBlob(partial, etag: file.etag)
        try repo.link(file.path, etag: file.etag, commit: commit)
    }

    func adopt(_ file: HubFile, commit: String) throws(DownloadFailure) {
        // Without links the entry may already be the file itself, with no blob beside it.
        if !repo.usesLinks, repo.snapshotFileSize(file.path, commit: commit) == file.size { return }
        try repo.link(file.path, etag: file.etag, commit: commit)
    }

    func finish(commit: String, revision: String) throws(DownloadFailure) {
        // Python records only names that are not the commit itself.
        if revision != commit { try repo.writeRef(revision, commit: commit) }
    }

    func cachedCommit(for revision: String) -> String? {
        HexString.isCommit(revision) ? revision : repo.commit(forRef: revision)
    }

    func recordListing(_ files: [HubFile], commit: String) { repo.treeCache.write(files, commit: commit) }

    func cachedFiles(commit: String) -> [HubFile] {
        repo.treeCache.read(commit) ?? repo.snapshotFiles(commit)
    }

}

struct HubLocalDirDestination: HubDestination {
    let folder: HubLocalDir

    func resultPath(commit: String) -> String { folder.root }
    var spaceCheckPath: String { folder.root }
    var location: String { folder.root }

    func prepare(commit: String) throws(DownloadFailure) -> FileLock? {
        try folder.prepare()
        return nil
    }

    /// A file reached through a link (at any level) is not present: it is fetched again, and
    /// installing it then refuses a linked folder and replaces a link at the file's own name.
    func presence(of file: HubFile, commit: String) -> HubFilePresence {
        let path = folder.filePath(file.path)
        guard folder.filePlace(file.path).regularFileSize() == file.size else { return .absent }
        if folder.metadata(file.path)?.etag == file.etag { return .complete }
        return .unverified(path: path)
    }

    func partialPath(for file: HubFile) -> String { folder.partialPlace(file.path, etag: file.etag).path }
    func lockPlace(for file: HubFile) -> ConfinedPath { folder.lockPlace(file.path) }

    func openPartial(for file: HubFile) throws(DownloadFailure) -> PartialFile {
        let place = folder.partialPlace(file.path, etag: file.etag)
        return try PartialFile(in: place.openParent(create: true), name: place.name)
    }

    func install(_ partial: PartialFile, as file: HubFile, commit: String) throws(DownloadFailure) {
        try folder.install(partial, as: file.path)
        try folder.writeMetadata(file.path, commit: commit, etag: file.etag)
    }

    func adopt(_ file: HubFile, commit: String) throws(DownloadFailure) {
        if folder.metadata(file.path)?.commit == commit { return }
        try folder.writeMetadata(file.path, commit: commit, etag: file.etag)
    }

    func finish(commit: String, revision: String) throws(DownloadFailure) {}

    /// A plain folder keeps no refs: a branch name means whatever single commit is recorded.
    func cachedCommit(for revision: String) -> String? {
        if HexString.isCommit(revision) { return revision }
        let commits = Set(folder.recordedFiles().map(\.commit))
        return commits.count == 1 ? commits.first : nil
    }

    func recordListing(_ files: [HubFile], commit: String) { folder.treeCache.write(files, commit: commit) }

    func cachedFiles(commit: String) -> [HubFile] {
        folder.treeCache.read(commit) ?? folder.recordedFiles().filter { $0.commit == commit }.map(\.file)
    }

}
