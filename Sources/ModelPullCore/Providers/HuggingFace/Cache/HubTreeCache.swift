import Foundation

/// `trees/{commit}.json`: the whole listing of a commit, as huggingface_hub 2.4 caches it
/// (`_tree_cache.py`, format 1): `{"format_version": 1, "files": {path: {"size", "blob_id"
/// [, "lfs_sha256", "lfs_size"]}}}`. A commit's listing never changes, so it is written once,
/// before the first byte, and read forever: offline, both tools can then tell a complete
/// snapshot from an incomplete one, and Python skips the listing call.
///
/// It lives in the repo folder of the cache, or in `{localDir}/.cache/huggingface` for a local
/// folder, reached without following links like everything else ModelPull writes there.
struct HubTreeCache: Sendable {
    /// The folder that holds `trees/`.
    let folder: ConfinedPath

    static let formatVersion = 1
    /// Python reads any size; a listing of 250,000 files is about 40 MB.
    static let maxBytes = 256 << 20

    private var treesPlace: ConfinedPath { folder.appending("trees") }

    /// The listing of `commit`, or nil when none is cached, it is of another format, or it
    /// does not parse (Python ignores such a file and lists again).
    func read(_ commit: String) -> [HubFile]? {
        guard HexString.isCommit(commit), let trees = try? treesPlace.openDirectory(create: false),
              let data = trees.readFile(commit + ".json", limit: Self.maxBytes) else { return nil }
        return Self.decode(data)
    }

    /// Once per commit (its listing never changes), best effort as in Python: a cache that
    /// cannot hold the listing still holds the files.
    func write(_ files: [HubFile], commit: String) {
        guard HexString.isCommit(commit), let trees = try? treesPlace.openDirectory(create: true),
              !trees.exists(commit + ".json") else { return }
        try? trees.writeAtomically(Self.encode(files), as: commit + ".json")
    }

    static func encode(_ files: [HubFile]) -> Data {
        var entries: [String: Any] = [:]
        for file in files {
            var entry: [String: Any] = ["size": file.size, "blob_id": file.blobId]
            if let sha = file.lfsSHA256 {
                entry["lfs_sha256"] = sha
                entry["lfs_size"] = file.size
            }
            entries[file.path] = entry
        }
        let object: [String: Any] = ["format_version": formatVersion, "files": entries]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    static func decode(_ data: Data) -> [HubFile]? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              (object["format_version"] as? NSNumber)?.intValue == formatVersion,
              let files = object["files"] as? [String: [String: Any]] else { return nil }
        var result: [HubFile] = []
        for (path, info) in files {
            guard SafePath.problem(in: path) == nil,
                  let size = (info["size"] as? NSNumber)?.int64Value, size >= 0,
                  let blobId = info["blob_id"] as? String else { continue }
            let sha = (info["lfs_sha256"] as? String).flatMap { HexString.isHex($0, length: 64) ? $0 : nil }
            let lfsSize = (info["lfs_size"] as? NSNumber)?.int64Value
            result.append(HubFile(path: path, size: sha != nil ? (lfsSize ?? size) : size, blobId: blobId, lfsSHA256: sha))
        }
        return result
    }
}
