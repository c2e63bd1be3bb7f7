import Foundation

/// One line of Ollama's pull stream (`api.ProgressResponse`). Every field but `status` is
/// `omitempty` in Go, so a missing `total` or `completed` means zero.
struct OllamaPullLine: Decodable, Equatable {
    var status: String?
    var digest: String?
    var total: Int64?
    var completed: Int64?
    var error: String?

    init(status: String? = nil, digest: String? = nil, total: Int64? = nil, completed: Int64? = nil, error: String? = nil) {
        self.status = status
        self.digest = digest
        self.total = total
        self.completed = completed
        self.error = error
    }

    static func decode(_ data: Data) -> OllamaPullLine? {
        try? JSONDecoder().decode(OllamaPullLine.self, from: data)
    }
}
