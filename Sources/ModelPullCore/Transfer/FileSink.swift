import Foundation

/// Writes fetched bytes in order into a partial file; a `FrontierHasher` follows the bytes on
/// disk on a low-priority thread of its own, so hashing never runs on the thread that reads the
/// sockets (libcurl's event loop, shared by every transfer) and costs no second pass at the end.
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
    private var hasher: FrontierHasher?
    private let onProgress: @Sendable (Int64) -> Void

    /// Continues after the bytes already in `file`, hashing them first when a digest is wanted.
    public convenience init(file: PartialFile, computeSHA256: Bool,
                            onProgress: @escaping @Sendable (Int64) -> Void = { _ in }) {
        self.init(file: file, digest: computeSHA256 ? .sha256 : nil, onProgress: onProgress)
    }

    /// Continues after the bytes already in `file`, hashing them first when a digest is wanted.
    public init(file: PartialFile, digest: DigestAlgorithm?,
                onProgress: @escaping @Sendable (Int64) -> Void = { _ in }) {
        self.file = file
        self.onProgress = onProgress
        self.algorithm = digest
        written = file.size
        hasher = digest.map { FrontierHasher(file: file, algorithm: $0) }
        hasher?.advance(to: written)
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
        written += Int64(data.count)
        hasher?.advance(to: written)
        onProgress(written)
    }

    public func restart() throws {
        lock.lock(); defer { lock.unlock() }
        try file.truncate(to: 0)
        written = 0
        hasher?.abandon()
        hasher = algorithm.map { FrontierHasher(file: file, algorithm: $0) }
    }

    /// The digest chosen at init (SHA-256 or git blob id) of everything written, if any, once
    /// the background hashing has caught up. Call when writing is done.
    public func finishDigest() async throws(DownloadFailure) -> Digest? {
        let (hasher, size) = lock.locked { (self.hasher, written) }
        guard let hasher else { return nil }
        return try await hasher.finish(size: size)
    }

    /// Stops the background hashing and waits until it no longer reads the file (a failed
    /// transfer, before the file is closed).
    public func stopHashing() async {
        await lock.locked { hasher }?.stop()
    }
}
