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
    var secrets: [String] {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return [] }
        var secrets = [components.user, components.password, components.percentEncodedQuery].compactMap { $0 }
        secrets += (components.queryItems ?? []).compactMap(\.value)
        return secrets.filter { !$0.isEmpty }
    }
}

extension URL {
    /// The URL with any user, password and query replaced by a marker: what a person may see of
    /// a URL that could carry a credential, still recognisable by its host and path.
    public var redactedForDisplay: String {
        guard var components = URLComponents(url: self, resolvingAgainstBaseURL: false) else { return lastPathComponent }
        let marker = "REDACTED"
        if components.user != nil { components.user = marker }
        if components.password != nil { components.password = marker }
        if let query = components.percentEncodedQuery, !query.isEmpty { components.percentEncodedQuery = marker }
        components.fragment = nil
        return components.string ?? lastPathComponent
    }
}
