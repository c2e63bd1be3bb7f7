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

    /// The parts of the URL that are credentials, scrubbed from whatever the job reports.
    var secrets: [String] { url.credentialParts }
}
