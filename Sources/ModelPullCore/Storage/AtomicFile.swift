import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small state files (records, refs) written whole or not at all: to a temporary name beside the
/// target, flushed, then renamed over it. The temporary is created fresh (`O_EXCL`, never
/// following a link someone planted under its name), and `rename` replaces a link at the target
/// instead of writing through it. Errors carry the errno, so a full disk is `disk_full`.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws(DownloadFailure) {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageFailure.from(errno: errno, doing: "create", path: temporary) }
        var failure: DownloadFailure?
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var written = 0
            while written < buffer.count, failure == nil {
                let result = writeDescriptor(fd, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = StorageFailure.from(errno: errno, doing: "write", path: temporary)
                } else {
                    written += result
                }
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = StorageFailure.from(errno: errno, doing: "flush", path: temporary) }
        _ = closeDescriptor(fd)
        if failure == nil, rename(temporary, path) != 0 {
            failure = StorageFailure.from(errno: errno, doing: "rename into place", path: path)
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }
}

#if canImport(Glibc)
private func writeDescriptor(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { Glibc.write(fd, bytes, count) }
private func closeDescriptor(_ fd: Int32) -> Int32 { Glibc.close(fd) }
#else
private func writeDescriptor(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { Darwin.write(fd, bytes, count) }
private func closeDescriptor(_ fd: Int32) -> Int32 { Darwin.close(fd) }
#endif

/// Which file a path names right now, as `lstat` sees it (a link is never followed): enough to
/// tell that a record still describes the bytes in place, and not a file renamed over them.
public struct FileIdentity: Codable, Sendable, Equatable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var modifiedSeconds: Int64
    public var modifiedNanoseconds: Int64

    /// Nil when nothing is there, or when it is not a regular file (a link, a folder).
    public static func regularFile(at path: String) -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        #if canImport(Darwin)
        let modified = info.st_mtimespec
        #else
        let modified = info.st_mtim
        #endif
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                            modifiedSeconds: Int64(modified.tv_sec), modifiedNanoseconds: Int64(modified.tv_nsec))
    }
}
