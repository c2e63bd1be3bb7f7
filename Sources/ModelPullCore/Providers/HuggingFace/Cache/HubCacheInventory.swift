import Foundation

/// What the huggingface_hub cache holds, for `models/list`, and removing a repo from it, for
/// `models/delete`. Read the way `scan_cache_dir` reads it: repo folders named
/// `models--org--name`, snapshots whose links resolve to blobs, refs naming snapshots.
struct HubCacheInventory {
    let cacheRoot: String

    /// One entry per model repo folder, optionally narrowed by `include` (the mlx provider lists
    /// only repos holding MLX-loadable weights).
    func models(provider: String, include: (_ snapshotFiles: [String]) -> Bool = { _ in true }) -> [LocalModel] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: cacheRoot) else { return [] }
        return entries.sorted().compactMap { name -> LocalModel? in
            guard let repoId = HubCacheRepo.repoId(fromFolder: name) else { return nil }
            let repo = HubCacheRepo(cacheRoot: cacheRoot, repoId: repoId)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: repo.directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                return nil
            }
            return describe(repo, provider: provider, include: include)
        }
    }

    private func describe(_ repo: HubCacheRepo, provider: String, include: ([String]) -> Bool) -> LocalModel? {
        let refs = refsByCommit(repo)
        var revisions: [LocalModel.Revision] = []
        var blobSizes: [String: Int64] = [:]
        var brokenLinks = false
        var allFiles: [String] = []
        let commits = ((try? FileManager.default.contentsOfDirectory(atPath: repo.snapshotsDirectory)) ?? []).sorted()
        for commit in commits where HexString.isCommit(commit) {
            let root = repo.snapshotDirectory(commit)
            var revisionBlobs: [String: Int64] = [:]
            var count = 0
            for relative in Filesystem.walk(root) {
                let full = (root as NSString).appendingPathComponent(relative)
                guard let size = Filesystem.regularFileSize(full) else { brokenLinks = true; continue }
                let blob = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)).map {
                    ((full as NSString).deletingLastPathComponent as NSString).appendingPathComponent($0)
                } ?? full
                revisionBlobs[(blob as NSString).standardizingPath] = size
                count += 1
                allFiles.append(relative)
            }
            blobSizes.merge(revisionBlobs) { first, _ in first }
            let names = refs[commit] ?? []
            revisions.append(.init(revision: names.contains("main") ? "main" : names.first, commit: commit,
                                   files: count, sizeBytes: revisionBlobs.values.reduce(0, +)))
        }
        guard include(allFiles) else { return nil }
        let blobNames = (try? FileManager.default.contentsOfDirectory(atPath: repo.blobsDirectory)) ?? []
        let hasPartials = blobNames.contains { $0.hasSuffix(HubCacheRepo.partialSuffix) || $0.hasSuffix(".incomplete") }
        let modified = blobSizes.keys.compactMap(Filesystem.modificationDate).max()
        return LocalModel(provider: provider, model: repo.repoId, path: repo.directory,
                          sizeBytes: blobSizes.values.reduce(0, +),
                          complete: !hasPartials && !brokenLinks && revisions.contains { $0.files > 0 },
                          revisions: revisions, modifiedAt: modified)
    }

    /// Ref names by the commit they hold (`main`, `v1.0`, `refs/pr/1`).
    private func refsByCommit(_ repo: HubCacheRepo) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for name in Filesystem.walk(repo.refsDirectory) {
            if let commit = repo.commit(forRef: name) { result[commit, default: []].append(name) }
        }
        return result
    }

    /// Removes the repo folder (its snapshots, refs, blobs and our partial files) and its lock
    /// folder. Blobs are per repo in this layout, so no other repo loses anything; a blob that is
    /// itself a link into huggingface_hub's shared store frees only the link, and the shared
    /// payload is left to Python's own cleanup.
    func delete(repoId: String) throws(DownloadFailure) -> DeletionResult {
        let repo = HubCacheRepo(cacheRoot: cacheRoot, repoId: repoId)
        guard FileManager.default.fileExists(atPath: repo.directory) else {
            return DeletionResult(deleted: false, message: "'\(repoId)' is not in the cache at \(cacheRoot); nothing was deleted.")
        }
        let freed = Filesystem.walk(repo.directory).reduce(Int64(0)) { sum, relative in
            sum + (Filesystem.ownSize((repo.directory as NSString).appendingPathComponent(relative)) ?? 0)
        }
        // Never through a link: a repo folder whose subfolders (or itself) link elsewhere loses
        // the links, and what they point at stays untouched.
        guard NoFollow.removeTree(repo.directory) else {
            throw DownloadFailure(.storage, "Could not delete all of \(repo.directory); what remains can be removed by hand.", retryable: false)
        }
        NoFollow.removeTree(repo.locksDirectory)
        return DeletionResult(deleted: true, freedBytes: freed,
                              message: "Deleted \(repoId) (\(ByteFormat.string(freed))) from \(cacheRoot).")
    }
}
