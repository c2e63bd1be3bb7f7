import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small filesystem helpers: sizes that say whether they followed a link, and folder creation
/// that fails with a message a client can act on.
enum Filesystem {
    static func createDirectory(_ path: String) throws(DownloadFailure) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            if let code = StorageFailure.posixCode(of: error) {
                throw StorageFailure.from(errno: code, doing: "create the folder", path: path)
            }
            throw DownloadFailure(.storage, "Could not create the folder \(path): \(error.localizedDescription)", retryable: false)
        }
    }

    /// Size of the regular file at `path`, following symlinks; nil when missing or not a file.
    static func regularFileSize(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    /// Size of the entry itself (a symlink counts as its own few bytes, not its target).
    static func ownSize(_ path: String) -> Int64? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// Relative paths of every non-directory entry under `root` (symlinks listed, never descended into).
    static func walk(_ root: String) -> [String] { NoFollow.walk(root) }
}
