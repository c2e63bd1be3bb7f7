import Foundation

/// File names from a server are untrusted. A relative path is accepted only if every component
/// is a plain name the filesystem sees exactly as we do, so nothing is ever written outside the
/// destination, nor into the bookkeeping ModelPull and huggingface_hub keep inside it.
///
/// Every check works on the UTF-8 bytes the filesystem receives, never on Swift `Character`s:
/// a `Character` is a grapheme cluster, so `"../\u{301}x"` is one cluster `"/\u{301}"` to Swift
/// (no `..` component) and `..`, `\u{301}x` to the kernel, which splits on the byte 0x2F.
public enum SafePath {
    /// Longest relative path accepted (Linux `PATH_MAX`).
    static let maxPathBytes = 4096
    /// Longest component (`NAME_MAX` on Linux and macOS).
    static let maxComponentBytes = 255

    /// Throws an `upstream` failure ("Refusing unsafe …") unless `path` is a safe relative path.
    ///
    /// `secrets` are credentials sent to the server: a server (or a proxy) that echoes one into a
    /// file name would make it reach progress events, results, logs and names on disk, so such a
    /// path is refused with a message that quotes neither the path nor the secret. That check
    /// comes first, so no other rejection ever quotes a path holding a secret.
    public static func validate(_ path: String, what: String = "file name", secrets: [String] = []) throws(DownloadFailure) {
        if secrets.contains(where: { containsSecret(path, $0) }) {
            throw DownloadFailure(.upstream,
                "Refusing unsafe \(what) from the server: it contains the access token sent with the request (a proxy or mirror echoing credentials?). The name is not shown, and nothing was written.",
                retryable: false)
        }
        if let why = problem(in: path) {
            throw DownloadFailure(.upstream, "Refusing unsafe \(what) from the server (\(why)): \(path.debugDescription)",
                                  retryable: false)
        }
    }

    /// Validates a single file name (no `/`), e.g. the `url` provider's `fileName`.
    public static func validateFileName(_ name: String, what: String = "file name") throws(DownloadFailure) {
        guard !name.utf8.contains(slash) else {
            throw DownloadFailure(.invalidModel, "The \(what) \(name.debugDescription) must be a plain name without '/'.",
                                  retryable: false)
        }
        try validate(name, what: what)
    }

    /// Why `path` is unsafe, or nil when it is safe.
    static func problem(in path: String) -> String? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { return "empty" }
        guard bytes.count <= maxPathBytes else { return "too long" }
        guard bytes.first != slash else { return "absolute path" }
        let components = bytes.split(separator: slash, omittingEmptySubsequences: false)
        for component in components {
            if let why = problem(inComponent: component) { return why }
        }
        return ReservedName.problem(in: components.map { String(decoding: $0, as: UTF8.self) })
    }

    private static let slash = UInt8(ascii: "/")
    private static let backslash = UInt8(ascii: "\\")
    private static let dot = UInt8(ascii: ".")

    private static func problem(inComponent bytes: ArraySlice<UInt8>) -> String? {
        if bytes.isEmpty { return "empty path component" }
        if bytes.elementsEqual([dot]) || bytes.elementsEqual([dot, dot]) { return "'\(String(decoding: bytes, as: UTF8.self))' component" }
        if bytes.count > maxComponentBytes { return "component too long" }
        if bytes.contains(backslash) { return "backslash" }
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7f }) { return "control character" }
        // A Swift String is valid UTF-8 by construction; bytes from elsewhere may not be.
        guard let name = String(validating: bytes, as: UTF8.self) else { return "invalid UTF-8" }
        if name.unicodeScalars.contains(where: { (0x80...0x9f).contains($0.value) }) { return "control character" }
        // A mark at the start of a component combines with the `/` before it in every
        // grapheme-based view (Swift, many UIs), hiding the component boundary.
        if let first = name.unicodeScalars.first, Self.isCombiningMark(first) { return "component starts with a combining mark" }
        return nil
    }

    static func isCombiningMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// Byte-wise, and case-insensitively for ASCII, since a proxy may change its case.
    private static func containsSecret(_ path: String, _ secret: String) -> Bool {
        guard secret.utf8.count >= 6 else { return false }
        let haystack = Array(path.utf8).map(asciiLowercased)
        let needle = Array(secret.utf8).map(asciiLowercased)
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { start in
            haystack[start..<(start + needle.count)].elementsEqual(needle)
        }
    }

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}

/// Names a listed path may not take because something other than the repo's content lives there:
/// `.git` (git's own state; git refuses such paths too) and `.cache/huggingface/` (or a file
/// `.cache` in its way) at the top,
/// where a `localDir` keeps huggingface_hub's and ModelPull's bookkeeping (metadata, locks,
/// partial files). A listed `.cache/huggingface/download/<etag>.modelpull.partial` would
/// otherwise replace another file's partial while it downloads.
///
/// Compared the way the destination filesystem might compare names, not just byte for byte:
/// case-insensitively (macOS, Windows volumes), canonically decomposed (HFS+ stores NFD), and
/// ignoring default-ignorable code points (HFS+ ignores zero-width joiners and the like in names,
/// which made `.gi\u{200C}t` equal `.git` there: CVE-2014-9390).
enum ReservedName {
    static func problem(in components: [String]) -> String? {
        let folded = components.map(fold)
        if folded.contains(where: { $0 == "." || $0 == ".." }) { return "a '.' or '..' component in disguise" }
        if folded.contains(".git") { return "reserved name '.git'" }
        // A file named `.cache` would also stand where that folder must be made.
        if folded[0] == ".cache", folded.count == 1 || folded[1] == "huggingface" {
            return "reserved folder '.cache/huggingface', where download state is kept"
        }
        return nil
    }

    /// One name as a case-insensitive, normalising filesystem may see it.
    static func fold(_ name: String) -> String {
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: name.unicodeScalars.filter { !$0.properties.isDefaultIgnorableCodePoint })
        return String(kept).decomposedStringWithCanonicalMapping.lowercased()
    }
}
