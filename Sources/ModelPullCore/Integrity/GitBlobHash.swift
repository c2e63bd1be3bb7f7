import Foundation

/// The git blob id of a file: `SHA1("blob <byteCount>\0" + content)`.
///
/// Hugging Face reports this as the etag of regular (non-LFS) files, so it is how those files
/// are verified. The header needs the length before the content, which is why the expected byte
/// count is given up front: the hash can then be computed while streaming the download.
///
/// If a different number of bytes is fed than was announced, the result is not the blob id of
/// anything that was received, so it will not match the expected etag and verification fails
/// as it should; `bytesHashed` lets callers report the more precise "wrong size" instead.
public struct GitBlobHasher: IncrementalHasher {
    public let expectedByteCount: Int
    /// Content bytes fed so far (the header is not counted).
    public private(set) var bytesHashed: Int = 0
    private var sha1 = SHA1()

    /// - Parameter byteCount: the content length, as announced by the server (must be >= 0).
    public init(byteCount: Int) {
        precondition(byteCount >= 0, "a blob cannot have a negative size")
        expectedByteCount = byteCount
        startBlob()
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        bytesHashed += buffer.count
        sha1.update(buffer)
    }

    /// Returns the blob id and starts over for another blob of the same announced size.
    public mutating func finalize() -> Digest {
        let digest = sha1.finalize()
        bytesHashed = 0
        startBlob()
        return digest
    }

    public static func hash(_ data: Data) -> Digest {
        var hasher = GitBlobHasher(byteCount: data.count)
        hasher.update(data)
        return hasher.finalize()
    }

    /// Feeds git's object header; the size is in decimal ASCII, with no padding.
    private mutating func startBlob() {
        sha1.update(Array("blob \(expectedByteCount)\0".utf8))
    }
}
