import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The free-space preflight: refuse a download that cannot fit before a byte is written, rather
/// than failing with ENOSPC half way and leaving a disk full of partial files.
public enum DiskSpace {
    /// Bytes available to an unprivileged writer on the filesystem holding `path`.
    public static func available(at path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Room kept free beyond the download itself: 2 % of it, at least 8 MiB, at most 1 GiB.
    public static func headroom(for bytes: Int64) -> Int64 {
        min(max(bytes / 50, 8 << 20), 1 << 30)
    }

    /// Throws `disk_full` when `needed` bytes plus headroom do not fit at `directory`.
    public static func ensureRoom(for needed: Int64, at directory: String) throws(DownloadFailure) {
        guard needed > 0, let free = available(at: directory) else { return }
        let wanted = needed + headroom(for: needed)
        guard free >= wanted else {
            throw DownloadFailure(.diskFull,
                "Not enough disk space in \(directory): the download needs \(ByteFormat.string(needed)) plus \(ByteFormat.string(headroom(for: needed))) headroom, and only \(ByteFormat.string(free)) is free. Free some space or choose another directory.",
                retryable: false,
                details: ["neededBytes": .int(needed), "availableBytes": .int(free)])
        }
    }
}

/// Human byte counts for messages ("1.2 GB"), decimal units as download tools show them.
public enum ByteFormat {
    public static func string(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
