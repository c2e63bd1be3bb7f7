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

/// Splits a byte stream into lines without trusting the peer: a line longer than
/// `maxLineBytes` (a hostile or broken server sending one endless line) is an error rather
/// than unbounded memory. A trailing `\r` is dropped; blank lines are skipped.
struct NDJSONLineBuffer {
    struct LineTooLong: Error {
        var limit: Int
    }

    let maxLineBytes: Int
    private var pending = Data()

    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// The complete lines `data` finishes, in order.
    mutating func append(_ data: Data) throws(LineTooLong) -> [Data] {
        var lines: [Data] = []
        var rest = data[...]
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            let piece = rest[rest.startIndex..<newline]
            guard pending.count + piece.count <= maxLineBytes else { throw LineTooLong(limit: maxLineBytes) }
            pending.append(piece)
            if let line = takePending() { lines.append(line) }
            rest = rest[rest.index(after: newline)...]
        }
        guard pending.count + rest.count <= maxLineBytes else { throw LineTooLong(limit: maxLineBytes) }
        pending.append(rest)
        return lines
    }

    /// What is left when the stream ends: the one JSON object of a non-streaming answer has no
    /// newline after it.
    mutating func finish() -> Data? {
        takePending()
    }

    private mutating func takePending() -> Data? {
        var line = pending
        pending = Data()
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        let blank = line.allSatisfy { $0 == 0x20 || $0 == 0x09 }
        return blank ? nil : line
    }
}
