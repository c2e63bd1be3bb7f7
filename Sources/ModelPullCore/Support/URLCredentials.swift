import Foundation

/// A URL may carry a credential in its user, password or query (a signed CDN or S3 URL): such a
/// URL is sent to its server and nowhere else, and shown or stored only masked.
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

    /// The parts that may be credentials (user, password, the query and each of its values),
    /// for scrubbing from messages.
    public var credentialParts: [String] {
        guard let components = URLComponents(url: self, resolvingAgainstBaseURL: false) else { return [] }
        var parts = [components.user, components.password, components.percentEncodedQuery].compactMap { $0 }
        parts += (components.queryItems ?? []).compactMap(\.value)
        return parts.filter { !$0.isEmpty }
    }
}

extension DownloadRequest {
    /// Credentials carried by the request's URLs (`model` for url downloads, `baseUrl` for any
    /// provider), scrubbed from everything the job reports whatever the provider.
    var urlCredentials: [String] {
        [model, baseURL].compactMap { $0 }.compactMap { URL(string: $0) }
            .filter { ["http", "https"].contains($0.scheme?.lowercased() ?? "") }
            .flatMap(\.credentialParts)
    }
}

extension URL {
    /// The URL without its query (signed CDN URLs carry credentials there) for messages and logs.
    public var redactedForLogs: String {
        guard var components = URLComponents(url: self, resolvingAgainstBaseURL: false) else { return lastPathComponent }
        components.query = nil
        components.user = nil
        components.password = nil
        return components.string ?? lastPathComponent
    }
}
