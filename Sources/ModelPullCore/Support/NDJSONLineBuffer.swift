import Foundation

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
