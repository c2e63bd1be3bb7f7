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
    func prepare(commit: String) throws(DownloadFailure)
    func presence(of file: HubFile) -> HubFilePresence
    func partialPath(for file: HubFile) -> String
    func lockPath(for file: HubFile) -> String
    /// Moves verified bytes into place and makes them visible under the file's path.
    func install(_ partial: PartialFile, as file: HubFile, commit: String) throws(DownloadFailure)
    /// Makes a file that was already present visible for this commit (a snapshot link, metadata).
    func adopt(_ file: HubFile, commit: String) throws(DownloadFailure)
    /// Records that `revision` now means `commit`, once every file is in place.
    func finish(commit: String, revision: String) throws(DownloadFailure)

    /// Offline: the commit `revision` names locally, and the files known for it.
    func cachedCommit(for revision: String) -> String?
    func cachedFiles(commit: String) -> [HubFile]
    /// True when `cachedFiles` is a full listing (not just what happens to be on disk).
    func hasFullListing(commit: String) -> Bool
}

struct HubCacheDestination: HubDestination {
    let repo: HubCacheRepo

    func resultPath(commit: String) -> String { repo.snapshotDirectory(commit) }
    var spaceCheckPath: String { repo.blobsDirectory }
    var location: String { repo.directory }

    func prepare(commit: String) throws(DownloadFailure) {
        try repo.createDirectories()
    }

    func presence(of file: HubFile) -> HubFilePresence {
        repo.blobSize(file.etag) == file.size ? .complete : .absent
    }

    func partialPath(for file: HubFile) -> String { repo.partialPath(file.etag) }
    func lockPath(for file: HubFile) -> String { repo.lockPath(file.etag) }

    func install(_ partial: PartialFile, as file: HubFile, commit: String) throws(DownloadFailure) {
        try partial.commit(to: repo.blobPath(file.etag))
        try repo.link(file.path, etag: file.etag, commit: commit)
    }

    func adopt(_ file: HubFile, commit: String) throws(DownloadFailure) {
        try repo.link(file.path, etag: file.etag, commit: commit)
    }

    func finish(commit: String, revision: String) throws(DownloadFailure) {
        // Python records only names that are not the commit itself.
        if revision != commit { try repo.writeRef(revision, commit: commit) }
    }

    func cachedCommit(for revision: String) -> String? {
        HexString.isCommit(revision) ? revision : repo.commit(forRef: revision)
    }

    func cachedFiles(commit: String) -> [HubFile] {
        repo.cachedTree(commit) ?? repo.snapshotFiles(commit)
    }

    func hasFullListing(commit: String) -> Bool { repo.cachedTree(commit) != nil }
}

struct HubLocalDirDestination: HubDestination {
    let folder: HubLocalDir

    func resultPath(commit: String) -> String { folder.root }
    var spaceCheckPath: String { folder.root }
    var location: String { folder.root }

    func prepare(commit: String) throws(DownloadFailure) { try folder.prepare() }

    func presence(of file: HubFile) -> HubFilePresence {
        let path = folder.filePath(file.path)
        guard Filesystem.regularFileSize(path) == file.size else { return .absent }
        if folder.metadata(file.path)?.etag == file.etag { return .complete }
        return .unverified(path: path)
    }

    func partialPath(for file: HubFile) -> String { folder.partialPath(file.path, etag: file.etag) }
    func lockPath(for file: HubFile) -> String { folder.lockPath(file.path) }

    func install(_ partial: PartialFile, as file: HubFile, commit: String) throws(DownloadFailure) {
        try folder.prepareParents(of: file.path)
        try partial.commit(to: folder.filePath(file.path))
        try folder.writeMetadata(file.path, commit: commit, etag: file.etag)
    }

    func adopt(_ file: HubFile, commit: String) throws(DownloadFailure) {
        if folder.metadata(file.path)?.commit == commit { return }
        try folder.prepareParents(of: file.path)
        try folder.writeMetadata(file.path, commit: commit, etag: file.etag)
    }

    func finish(commit: String, revision: String) throws(DownloadFailure) {}

    /// A plain folder keeps no refs: a branch name means whatever single commit is recorded.
    func cachedCommit(for revision: String) -> String? {
        if HexString.isCommit(revision) { return revision }
        let commits = Set(folder.recordedFiles().map(\.commit))
        return commits.count == 1 ? commits.first : nil
    }

    func cachedFiles(commit: String) -> [HubFile] {
        folder.recordedFiles().filter { $0.commit == commit }.map(\.file)
    }

    func hasFullListing(commit: String) -> Bool { false }
}
