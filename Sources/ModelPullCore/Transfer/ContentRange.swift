/// A parsed `Content-Range: bytes first-last/total` header.
struct ContentRange: Equatable {
    var first: Int64
    var last: Int64
    /// Nil when the server sent `*` (length unknown).
    var total: Int64?

    init?(_ header: String?) {
        guard let header = header?.trimmingCharacters(in: .whitespaces), header.lowercased().hasPrefix("bytes ") else {
            return nil
        }
        let spec = header.dropFirst(6)
        let halves = spec.split(separator: "/", maxSplits: 1)
        guard halves.count == 2 else { return nil }
        let bounds = halves[0].split(separator: "-")
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), first <= last else {
            return nil
        }
        self.first = first
        self.last = last
        if halves[1] == "*" {
            total = nil
        } else {
            guard let total = Int64(halves[1]) else { return nil }
            self.total = total
        }
    }

    /// The total from an unsatisfiable-range reply: `bytes */total`.
    static func unsatisfiedTotal(_ header: String?) -> Int64? {
        guard let header, let slash = header.lastIndex(of: "/") else { return nil }
        return Int64(header[header.index(after: slash)...].trimmingCharacters(in: .whitespaces))
    }
}

/// A 206 checked against the request it answers: the one place both fetch paths (in order and
/// parallel pieces) judge a range answer. Anything inconsistent is a protocol violation, which
/// the fetchers count as a failed attempt, so a server that keeps answering nonsense ends the
/// download within the retry budget instead of being asked again forever.
struct RangeAnswer: Equatable {
    let first: Int64
    let last: Int64
    /// Nil when the server does not know (`bytes a-b/*`).
    let total: Int64?

    /// Bytes the body carries.
    var length: Int64 { last - first + 1 }

    /// `asked`: the bytes requested (`Range: bytes=lower-upper`); `expectedTotal`: the file's
    /// size when known. Another total means the server's file is not the one expected: against a
    /// listing (`totalIsListed`) that is an `integrity` error (the listing and the server
    /// disagree); against a size learned earlier (this fetch's first answer, or the run that
    /// wrote the partial) it is `RangeFetchObstacle.remoteChanged`, so the stale bytes are
    /// dropped and the file starts over, never a lasting error.
    init(_ head: HTTPResponseHead, asked: ClosedRange<Int64>, expectedTotal: Int64?, totalIsListed: Bool) throws {
        guard let range = ContentRange(head.headers["Content-Range"]) else {
            throw TransferError.protocolViolation("206 without a valid Content-Range")
        }
        let said = "asked for bytes \(asked.lowerBound)-\(asked.upperBound), got \(head.headers["Content-Range"] ?? "")"
        guard range.first == asked.lowerBound, range.last <= asked.upperBound else {
            throw TransferError.protocolViolation(said)
        }
        if let total = range.total {
            guard range.last < total else { throw TransferError.protocolViolation("\(said): the range runs past its own total") }
            if let expectedTotal, total != expectedTotal {
                guard totalIsListed else { throw RangeFetchObstacle.remoteChanged }
                throw DownloadFailure(.integrity,
                    "The server's file is \(total) bytes but \(expectedTotal) were expected; the remote file changed. Retry to fetch the new revision.",
                    retryable: true)
            }
        }
        if let contentLength = head.contentLength, contentLength != range.last - range.first + 1 {
            throw TransferError.protocolViolation("\(said) with Content-Length \(contentLength)")
        }
        first = range.first
        last = range.last
        total = range.total
    }
}
