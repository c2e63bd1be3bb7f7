import Foundation

/// Writes fetched bytes in order into a partial file, hashing them on the way so verification
/// costs no second pass over the file.
public final class FileSink: SequentialSink, @unchecked Sendable {
    public let file: PartialFile
    private let lock = NSLock()
    private var written: Int64
    private var sha256: SHA256?
    private let onProgress: @Sendable (Int64) -> Void

    /// Continues after the bytes already in `file`, hashing them first when a digest is wanted.
    public init(file: PartialFile, computeSHA256: Bool,
                onProgress: @escaping @Sendable (Int64) -> Void = { _ in }) throws(DownloadFailure) {
        self.file = file
        self.onProgress = onProgress
        let existing = file.size
        written = existing
        if computeSHA256 {
            var hasher = SHA256()
            try file.readSequentially(upTo: existing) { hasher.update($0) }
            sha256 = hasher
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
        sha256?.update(data)
        written += Int64(data.count)
        onProgress(written)
    }

    public func restart() throws {
        lock.lock(); defer { lock.unlock() }
        try file.truncate(to: 0)
        written = 0
        if sha256 != nil { sha256 = SHA256() }
    }

    /// The SHA-256 of everything written, when it was computed.
    public func finalizeSHA256() -> Digest? {
        lock.lock(); defer { lock.unlock() }
        guard var hasher = sha256 else { return nil }
        return hasher.finalize()
    }
}
