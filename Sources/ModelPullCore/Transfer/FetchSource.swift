import Foundation

/// Where a file comes from.
public struct FetchSource: Sendable {
    public var url: URL
    /// Sent on the first request; `Authorization` never follows a cross-origin redirect.
    public var headers: [String: String]
    /// The size the listing promised, when known; the server must agree.
    public var expectedSize: Int64?
    /// An ETag or Last-Modified from an earlier run, sent as `If-Range` so a changed file is
    /// downloaded afresh instead of being spliced onto old bytes.
    public var validator: String?
    public var idleTimeout: TimeInterval

    public init(url: URL, headers: [String: String] = [:], expectedSize: Int64? = nil,
                validator: String? = nil, idleTimeout: TimeInterval = 30) {
        self.url = url
        self.headers = headers
        self.expectedSize = expectedSize
        self.validator = validator
        self.idleTimeout = idleTimeout
    }
}

/// What a finished fetch learned about the remote file.
public struct FetchOutcome: Sendable {
    public var size: Int64
    public var etag: String?
    public var lastModified: String?
    /// The strong validator the bytes came with (`RangeValidator`): what a later run sends as
    /// `If-Range` when it resumes them.
    public var validator: String?
}
