/// The lifecycle of one download job, as clients see it in `downloads/progress`.
public enum DownloadStatus: String, Sendable, CaseIterable, Codable {
    case queued, starting, downloading, verifying, complete, error, cancelled

    /// A terminal status is reported exactly once, and nothing follows it.
    public var isTerminal: Bool {
        switch self {
        case .complete, .error, .cancelled: return true
        case .queued, .starting, .downloading, .verifying: return false
        }
    }
}
