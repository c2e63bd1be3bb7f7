import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file being downloaded, written with `pwrite` at explicit offsets so that parallel ranges
/// and resumed transfers never depend on a shared file position. It lives under a name no
/// reader trusts until `commit(to:)` renames it into place.
public final class PartialFile: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    /// The folder the file was opened in and its name there, when opened through
    /// `init(in:name:)`: renames and deletes then act on that very folder.
    private let folder: (directory: ConfinedDirectory, name: String)?
    private let isClosed = LockedValue(false)

    /// Opens (creating if needed) the file at `path` without truncating it, so bytes from an
    /// earlier run are kept for resuming. A partial file is never legitimately a link: one at
    /// `path` is refused (`O_NOFOLLOW`), so a planted link cannot aim our writes elsewhere.
    /// Folders on the way are followed; use `init(in:name:)` where they may be planted too.
    public init(path: String) throws(DownloadFailure) {
        self.path = path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else {
            if errno == ELOOP { throw NoFollow.refusal(path, root: (path as NSString).deletingLastPathComponent) }
            throw StorageFailure.from(errno: errno, doing: "open", path: path)
        }
        fd = descriptor
        folder = nil
    }

    /// Opens (creating if needed, never truncating) `name` inside a folder reached without
    /// following links; `commit(into:as:)` and `discard()` then act on that same folder.
    public init(in directory: ConfinedDirectory, name: String) throws(DownloadFailure) {
        path = directory.child(name)
        fd = try directory.openFile(name, flags: O_RDWR | O_CREAT)
        folder = (directory, name)
    }

    deinit { close() }

    public var size: Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return 0 }
        return Int64(info.st_size)
    }

    /// Writes all of `data` at `offset`, retrying short writes and EINTR.
    public func write(_ data: Data, at offset: Int64) throws(DownloadFailure) {
        var failure: DownloadFailure?
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            do throws(DownloadFailure) { try write(buffer, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes all of `buffer` at `offset`, retrying short writes and EINTR.
    public func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(DownloadFailure) {
        guard let base = buffer.baseAddress else { return }
        var written = 0
        while written < buffer.count {
            let result = pwrite(fd, base + written, buffer.count - written, off_t(offset + Int64(written)))
            if result < 0 {
                if errno == EINTR { continue }
                throw StorageFailure.from(errno: errno, doing: "write", path: path)
            }
            written += result
        }
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many (0 at the end of the file).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(DownloadFailure) -> Int {
        while true {
            let got = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if got >= 0 { return got }
            if errno != EINTR { throw StorageFailure.from(errno: errno, doing: "read", path: path) }
        }
    }

    public func truncate(to length: Int64) throws(DownloadFailure) {
        guard ftruncate(fd, off_t(length)) == 0 else {
            throw StorageFailure.from(errno: errno, doing: "truncate", path: path)
        }
    }

    public func sync() {
        fsync(fd)
    }

    /// Flushes the data written so far to the disk (not the metadata), so a record of completed
    /// ranges written afterwards never claims bytes a power cut could still lose; done while the
    /// download goes on, it also leaves little for the final `sync` before the rename.
    public func syncData() {
        #if canImport(Darwin)
        fsync(fd)
        #else
        fdatasync(fd)
        #endif
    }

    /// Flushes and renames the file to its final name in one atomic step.
    public func commit(to finalPath: String) throws(DownloadFailure) {
        sync()
        guard rename(path, finalPath) == 0 else {
            throw StorageFailure.from(errno: errno, doing: "rename into place", path: finalPath)
        }
        close()
    }

    /// Flushes and renames the file to `name` in `target` in one atomic step, by descriptors:
    /// neither folder can be swapped for a link in between, and a link at `name` is replaced.
    public func commit(into target: ConfinedDirectory, as name: String) throws(DownloadFailure) {
        sync()
        if let folder {
            try folder.directory.rename(folder.name, to: target, as: name)
        } else {
            guard renameat(AT_FDCWD, path, target.descriptor, name) == 0 else {
                throw StorageFailure.from(errno: errno, doing: "rename into place", path: target.child(name))
            }
        }
        close()
    }

    /// Deletes the file (bad bytes must not be resumed).
    public func discard() {
        close()
        if let folder { folder.directory.removeFile(folder.name) } else { unlink(path) }
    }

    public func close() {
        let first = isClosed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if first { closeDescriptor(fd) }
    }
}

#if canImport(Glibc)
private func closeDescriptor(_ fd: Int32) { _ = Glibc.close(fd) }
#else
private func closeDescriptor(_ fd: Int32) { _ = Darwin.close(fd) }
#endif

/// Turns an errno into the failure a client sees, saying which folder is the problem and what
/// to do about it: ENOSPC and EDQUOT are `disk_full`; permissions and read-only filesystems name
/// the folder the user can act on (the one that holds `path`), never just the errno's words.
public enum StorageFailure {
    public static func from(errno code: Int32, doing action: String, path: String) -> DownloadFailure {
        let reason = String(cString: strerror(code))
        let folder = enclosingFolder(of: path)
        switch code {
        case ENOSPC, EDQUOT:
            return DownloadFailure(.diskFull,
                "The disk is full: could not \(action) \(path) (\(reason)). Free some space and retry; the bytes downloaded so far are kept.",
                retryable: false)
        case EACCES, EPERM:
            return DownloadFailure(.storage,
                "Could not \(action) \(path): this user may not write in \(folder). Choose a folder you can write to (`localDir` or `cacheDir`), or change its permissions.",
                retryable: false, details: ["folder": .string(folder)])
        case EROFS:
            return DownloadFailure(.storage,
                "Could not \(action) \(path): \(folder) is on a read-only filesystem. Choose a writable folder (`localDir` or `cacheDir`).",
                retryable: false, details: ["folder": .string(folder)])
        default:
            return DownloadFailure(.storage, "Could not \(action) \(path): \(reason).", retryable: false)
        }
    }

    /// The folder a person chose: the parent of `path`, above ModelPull's own hidden state
    /// folder when `path` is inside it.
    private static func enclosingFolder(of path: String) -> String {
        var folder = (path as NSString).deletingLastPathComponent
        while (folder as NSString).lastPathComponent == ".modelpull" { folder = (folder as NSString).deletingLastPathComponent }
        return folder.isEmpty ? "/" : folder
    }

    /// The POSIX error under a Foundation file error, when there is one.
    public static func posixCode(of error: any Error) -> Int32? {
        let error = error as NSError
        if error.domain == NSPOSIXErrorDomain { return Int32(error.code) }
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return Int32(underlying.code)
        }
        switch (error.domain, error.code) {
        case (NSCocoaErrorDomain, NSFileWriteNoPermissionError): return EACCES
        case (NSCocoaErrorDomain, NSFileWriteVolumeReadOnlyError): return EROFS
        case (NSCocoaErrorDomain, NSFileWriteOutOfSpaceError): return ENOSPC
        default: return nil
        }
    }
}
