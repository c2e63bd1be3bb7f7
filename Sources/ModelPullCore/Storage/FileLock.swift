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

    /// Waits for the lock without blocking a thread, so the wait stays cancellable. The lock
    /// file is opened without following a link (a planted link must not make us create or lock
    /// a file elsewhere), and once locked it must still be the file at `path`: a holder may
    /// remove it (`releaseRemovingFile`), and a lock on a removed file guards nothing.
    public static func acquire(at path: String, onWait: @Sendable () -> Void = {}) async throws -> FileLock {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var warned = false
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o664)
            guard fd >= 0 else { throw StorageFailure.from(errno: errno, doing: "open the lock file", path: path) }
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
            // The holder removed the file while we waited: lock the file now at `path` instead.
            close(fd)
        }
    }

    private static func isStillNamed(_ path: String, by fd: Int32) -> Bool {
        var held = stat()
        var named = stat()
        guard fstat(fd, &held) == 0, lstat(path, &named) == 0 else { return false }
        return held.st_dev == named.st_dev && held.st_ino == named.st_ino
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
