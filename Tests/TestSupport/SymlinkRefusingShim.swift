import Foundation

/// A filesystem without symbolic links, for one process: a tiny preload library (built here
/// with the toolchain's clang) whose `symlink` and `symlinkat` fail with EPERM, as they do on
/// exFAT, FAT and some network shares. Set `LD_PRELOAD` to `path` in a child's environment.
public enum SymlinkRefusingShim {
    private static let source = """
    #include <errno.h>
    int symlink(const char *target, const char *path) { (void)target; (void)path; errno = EPERM; return -1; }
    int symlinkat(const char *target, int fd, const char *path) { (void)target; (void)fd; (void)path; errno = EPERM; return -1; }
    """

    /// Builds the library into `folder`; nil when no C compiler can (then say so and skip).
    public static func build(in folder: String) -> String? {
        let sourcePath = folder + "/nosymlink.c"
        let library = folder + "/libnosymlink.so"
        guard (try? source.write(toFile: sourcePath, atomically: true, encoding: .utf8)) != nil else { return nil }
        for compiler in ["clang", "cc", "gcc"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [compiler, "-shared", "-fPIC", "-o", library, sourcePath]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { continue }
            process.waitUntilExit()
            if process.terminationStatus == 0 { return library }
        }
        return nil
    }
}
