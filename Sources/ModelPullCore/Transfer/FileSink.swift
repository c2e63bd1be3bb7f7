import Foundation

/// Writes fetched bytes in order into a partial file, hashing them on the way so verification
/// costs no second pass over the file.
public final class FileSink: SequentialSink, @unchecked Sendable {
    /// Which digest to compute while writing.
    public enum DigestAlgorithm: Sendable, Equatable {
        case sha256
        /// The git blob id (`SHA1("blob <n>\0" + content)`), what the Hub reports for regular
        /// files; the header needs the final size up front.
        case gitBlobSHA1(byteCount: Int64)

        func makeHasher() -> any IncrementalHasher {
            switch self {
            case .sha256: return SHA256()
            case .gitBlobSHA1(let count): return GitBlobHasher(byteCount: Int(max(0, count)))
            }
        }
    }

    public let file: PartialFile
    private let lock = NSLock()
    private var written: Int64
    private let algorithm: DigestAlgorithm?
    private var hasher: (any IncrementalHasher)?
    private let onProgress: @Sendable (Int64) -> Void

    /// Continues after the bytes already in `file`, hashing them first when a digest is wanted.
    public convenience init(file: PartialFile, computeSHA256: Bool,
                            onProgress: @escaping @Sendable (Int64) -> Void = { _ in }) throws(DownloadFailure) {
        try self.init(file: file, digest: computeSHA256 ? .sha256 : nil, onProgress: onProgress)
    }

    /// Continues after the bytes already in `file`, hashing them first when a digest is wanted.
    public init(file: PartialFile, digest: DigestAlgorithm?,
                onProgress: @escaping @Sendable (Int64) -> Void = { _ in }) throws(DownloadFailure) {
        self.file = file
        self.onProgress = onProgress
        self.algorithm = digest
        let existing = file.size
        written = existing
        if let digest {
            var hasher = digest.makeHasher()
            try file.readSequentially(upTo: existing) { hasher.update($0) }
            self.hasher = hasher
        }
    }

    public var length: Int64 {
        lock.lock(); defer { lock.unlock() }
        return written
    }

    public func append(_ data: Data) throws {
        guard !data.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        try file.write(data, at: written)
        hasher?.update(data)
        written += Int64(data.count)
        onProgress(written)
    }

    public func restart() throws {
        lock.lock(); defer { lock.unlock() }
        try file.truncate(to: 0)
        written = 0
        hasher = algorithm?.makeHasher()
    }

    /// The SHA-256 of everything written, when it was computed.
    public func finalizeSHA256() -> Digest? {
        algorithm == .sha256 ? finalizeDigest() : nil
    }

    /// The digest chosen at init (SHA-256 or git blob id) of everything written, if any.
    public func finalizeDigest() -> Digest? {
        lock.lock(); defer { lock.unlock() }
        guard var hasher else { return nil }
        return hasher.finalize()
    }
}
