import Foundation

/// The remote file of a url download, and the three ways ModelPull may speak of it: the URL
/// itself (only ever sent to its server), a form fit to show and store (credentials masked),
/// and a fingerprint that tells two URLs apart without keeping either on disk.
struct URLSource: Sendable {
    let url: URL

    /// For messages and records: user, password and query masked (a signed URL's query is a
    /// credential).
    var display: String { url.redactedForDisplay }

    /// Tells whether a partial or finished file came from this exact URL (query included),
    /// without writing a signed URL to disk: SHA-256 of the URL's bytes.
    var fingerprint: String {
        SHA256.hash(Data(url.absoluteString.utf8)).hex
    }

    /// The last path segment, percent-decoded byte for byte (Foundation's decoder drops a
    /// leading U+FEFF); nil when empty or not UTF-8.
    var lastSegment: String? {
        guard let path = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath,
              let segment = path.utf8.split(separator: UInt8(ascii: "/")).last else { return nil }
        var bytes: [UInt8] = []
        var index = segment.startIndex
        while index < segment.endIndex {
            let byte = segment[index]
            if byte == UInt8(ascii: "%"), segment.distance(from: index, to: segment.endIndex) >= 3,
               let value = UInt8(String(decoding: segment[segment.index(after: index)..<segment.index(index, offsetBy: 3)], as: UTF8.self), radix: 16) {
                bytes.append(value)
                index = segment.index(index, offsetBy: 3)
            } else {
                bytes.append(byte)
                index = segment.index(after: index)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The parts of the URL that are credentials, scrubbed from whatever the job reports.
    var secrets: [String] { url.credentialParts }
}
