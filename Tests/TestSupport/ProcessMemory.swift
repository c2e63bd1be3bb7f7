import Foundation

/// Memory of a live process as the kernel accounts it, for tests that bound it.
public enum ProcessMemory {
    /// The peak resident set size (`VmHWM` in `/proc/<pid>/status`) in bytes, nil where there is
    /// no `/proc` (macOS) or the process is gone.
    public static func peakResidentBytes(of pid: Int32) -> Int64? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            // "VmHWM:\t  123456 kB"
            let number = line.dropFirst("VmHWM:".count).split(separator: " ").first { Int64($0) != nil }
            return number.flatMap { Int64($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// Whether this platform can measure it (Linux): tests assert there, and say so elsewhere.
    public static var isMeasurable: Bool {
        FileManager.default.fileExists(atPath: "/proc/self/status")
    }
}

extension ModelPullProcess {
    /// The binary's peak resident set so far (read while it is still running).
    public var peakResidentBytes: Int64? {
        ProcessMemory.peakResidentBytes(of: process.processIdentifier)
    }
}
