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

    /// Waits for the lock without blocking a thread, so the wait stays cancellable.
    public static func acquire(at path: String, onWait: @Sendable () -> Void = {}) async throws -> FileLock {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o664)
        guard fd >= 0 else { throw StorageFailure.from(errno: errno, doing: "open the lock file", path: path) }
        var warned = false
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
        return FileLock(fd: fd, path: path)
    }

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
