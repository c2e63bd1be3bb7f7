/// File names from a server are untrusted. A relative path is accepted only if every component
/// is a plain name: no absolute paths, no `..`, no backslashes, no NUL or control characters.
/// Nothing is ever written outside the destination.
public enum SafePath {
    public static func validate(_ path: String, what: String = "file name") throws(DownloadFailure) {
        func reject(_ why: String) -> DownloadFailure {
            DownloadFailure(.upstream, "Refusing unsafe \(what) from the server (\(why)): \(path.debugDescription)",
                            retryable: false)
        }
        guard !path.isEmpty else { throw reject("empty") }
        guard path.utf8.count <= 4096 else { throw reject("too long") }
        guard !path.hasPrefix("/") else { throw reject("absolute path") }
        guard !path.contains("\\") else { throw reject("backslash") }
        guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw reject("control character")
        }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { throw reject("empty path component") }
            if component == "." || component == ".." { throw reject("'\(component)' component") }
            if component.utf8.count > 255 { throw reject("component too long") }
        }
    }
}
