import Foundation
import XCTest

extension XCTestCase {
    /// Mounts a tmpfs of `megabytes` at `mountPoint` for a disk-full test and unmounts it when the
    /// test ends. Skips the test where mounting is not permitted (not root, no CAP_SYS_ADMIN).
    /// `readOnly` mounts it read-only (EROFS for every write).
    func mountSmallDisk(megabytes: Int, at mountPoint: String, readOnly: Bool = false) throws -> String {
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        mount.arguments = ["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m" + (readOnly ? ",ro" : ""), "tmpfs", mountPoint]
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else {
            throw XCTSkip("mounting a tmpfs is not permitted here (not root, or no CAP_SYS_ADMIN); disk-full tests skipped")
        }
        addTeardownBlock {
            let umount = try? Process.run(URL(fileURLWithPath: "/usr/bin/env"), arguments: ["umount", "-l", mountPoint])
            umount?.waitUntilExit()
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        return mountPoint
    }
}
