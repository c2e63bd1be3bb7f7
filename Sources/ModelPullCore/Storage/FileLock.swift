import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on a lock file, the same primitive Python's `filelock` uses, so two
/// ModelPull processes, or ModelPull and huggingface_hub, never write the same file at once.
public final class FileLock: @unchecked Sendable {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Waits for the exclusive lock on the file at `path` (see `wait`).
    public static func acquire(at path: String, onWait: @Sendable () -> Void = {}) async throws -> FileLock {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A lock file is never legitimately a link; one planted there is refused, not followed.
        return try await wait(path: path, onWait: onWait) { () throws(DownloadFailure) -> Int32 in
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o664)
            guard fd >= 0 else { throw StorageFailure.from(errno: errno, doing: "open the lock file", path: path) }
            return fd
        }
    }

    /// The same below a destination other processes can write: no folder on the way to the lock
    /// file, nor the lock file itself, is followed if it is a link (see `ConfinedPath`).
    public static func acquire(at place: ConfinedPath, onWait: @Sendable () -> Void = {}) async throws -> FileLock {
        try await wait(path: place.path, onWait: onWait) { () throws(DownloadFailure) -> Int32 in
            let folder = try place.openParent(create: true)
            return try folder.openFile(place.name, flags: O_RDWR | O_CREAT, mode: 0o664, doing: "open the lock file")
        }
    }

    /// Waits for the lock on what `openFile` opens without blocking a thread, so the wait stays
    /// cancellable. Once locked it must still be the file at `path`: a holder may remove it
    /// (`releaseRemovingFile`), and a lock on a removed file guards nothing, so then the file
    /// now at `path` is opened and locked instead.
    private static func wait(path: String, onWait: @Sendable () -> Void,
                             openFile: () throws(DownloadFailure) -> Int32) async throws -> FileLock {
        var warned = false
        while true {
            let fd = try openFile()
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                guard errno == EWOULDBLOCK || errno == EINTR else {
                    let failure = StorageFailure.from(errno: errno, doing: "lock", path: path)
                    close(fd)
                    throw failure
                }
                if !warned { onWait(); warned = true }
                do {
                    try await Task.sleep(for: .milliseconds(50))
                } catch {
                    close(fd)
                    throw error
                }
            }
            if isStillNamed(path, by: fd) { return FileLock(fd: fd, path: path) }
            close(fd)
        }
    }

    private static func isStillNamed(_ path: String, by fd: Int32) -> Bool {
        var held = stat()
        var named = stat()
        guard fstat(fd, &held) == 0, lstat(path, &named) == 0 else { return false }
        return held.st_dev == named.st_dev && held.st_ino == named.st_ino
    }

    /// A lock many holders share while one may take it alone now and then: the exclusive lock
    /// when nobody else holds it (nil when someone does), or, with `exclusive: false`, a shared
    /// lock (waiting for an exclusive holder, which only ever holds it briefly).
    static func take(at place: ConfinedPath, exclusive: Bool) throws(DownloadFailure) -> FileLock? {
        let folder = try place.openParent(create: true)
        let fd = try folder.openFile(place.name, flags: O_RDWR | O_CREAT, mode: 0o664, doing: "open the lock file")
        while flock(fd, exclusive ? LOCK_EX | LOCK_NB : LOCK_SH) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(fd)
            if exclusive && code == EWOULDBLOCK { return nil }
            throw StorageFailure.from(errno: code, doing: "lock", path: place.path)
        }
        return FileLock(fd: fd, path: place.path)
    }

    /// Turns an exclusive lock into a shared one, letting other sharers in.
    func downgradeToShared() {
        while flock(fd, LOCK_SH) != 0 && errno == EINTR {}
    }

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Removes the lock file, then releases the lock: for a download that leaves nothing
    /// behind. Waiters notice the file is gone and lock a new one (see `acquire`).
    public func releaseRemovingFile() {
        unlink(path)
        release()
    }
}
