import Foundation

/// Writes fetched bytes in order into a partial file; a `FrontierHasher` follows the bytes on
/// disk on a low-priority thread of its own, so hashing never runs on the thread that reads the
/// sockets (libcurl's event loop, shared by every transfer) and costs no second pass at the end.
public final class FileSink: SequentialSink, Sendable {
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
    private let algorithm: DigestAlgorithm?
    private let onProgress: @Sendable (Int64) -> Void
    /// Bytes written so far and the hasher following them. Held while writing, so appends from
    /// two callers never interleave and the count always matches the file.
    private let state: LockedValue<(written: Int64, hasher: FrontierHasher?)>

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
        let written = file.size
        let hasher = digest.map { FrontierHasher(file: file, algorithm: $0) }
        hasher?.advance(to: written)
        state = LockedValue((written, hasher))
    }

    public var length: Int64 { state.current.written }

    public func append(_ data: Data) throws {
        guard !data.isEmpty else { return }
        try state.withLock { state in
            try file.write(data, at: state.written)
            state.written += Int64(data.count)
            state.hasher?.advance(to: state.written)
            onProgress(state.written)
        }
    }

    public func restart() throws {
        try state.withLock { state in
            try file.truncate(to: 0)
            state.written = 0
            state.hasher?.abandon()
            state.hasher = algorithm.map { FrontierHasher(file: file, algorithm: $0) }
        }
    }

    /// The digest chosen at init (SHA-256 or git blob id) of everything written, if any, once
    /// the background hashing has caught up. Call when writing is done.
    public func finishDigest() async throws(DownloadFailure) -> Digest? {
        let (size, hasher) = state.current
        guard let hasher else { return nil }
        return try await hasher.finish(size: size)
    }

    /// Stops the background hashing and waits until it no longer reads the file (a failed
    /// transfer, before the file is closed).
    public func stopHashing() async {
        await state.current.hasher?.stop()
    }
}
