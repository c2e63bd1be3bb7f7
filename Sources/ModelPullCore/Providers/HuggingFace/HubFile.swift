import Foundation

/// One file of a Hub repo at a commit, as the tree listing describes it. Sizes and digests come
/// from the listing, so totals are exact before the first byte and every file can be verified.
struct HubFile: Sendable, Hashable {
    /// Path in the repo, `/`-separated, already checked by `SafePath`. Compared by its bytes
    /// (see `ExactPath`): `==` and `hash` below never merge two spellings of one name.
    var path: String
    var size: Int64
    /// The git blob id (SHA-1 of the git object); for LFS files it names the pointer, not the content.
    var blobId: String
    /// The content's SHA-256, for LFS (and Xet) files.
    var lfsSHA256: String?

    /// What huggingface_hub names the blob after: the SHA-256 for LFS files, the git blob id
    /// otherwise. It is also the digest the content must have.
    var etag: String { lfsSHA256 ?? blobId }

    var isLFS: Bool { lfsSHA256 != nil }

    var digestAlgorithm: FileSink.DigestAlgorithm {
        isLFS ? .sha256 : .gitBlobSHA1(byteCount: size)
    }

    static func == (lhs: HubFile, rhs: HubFile) -> Bool {
        lhs.path.isByteEqual(to: rhs.path) && lhs.size == rhs.size && lhs.blobId == rhs.blobId && lhs.lfsSHA256 == rhs.lfsSHA256
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(ExactPath(path))
        hasher.combine(blobId)
    }

    /// Orders files by the bytes of their paths.
    static func byPath(_ lhs: HubFile, _ rhs: HubFile) -> Bool { ExactPath(lhs.path) < ExactPath(rhs.path) }

    /// A file known only from a cached blob name (offline, no listing): the name is the etag.
    static func fromCachedBlob(path: String, etag: String, size: Int64) -> HubFile {
        etag.count == 64
            ? HubFile(path: path, size: size, blobId: "", lfsSHA256: etag)
            : HubFile(path: path, size: size, blobId: etag, lfsSHA256: nil)
    }
}
