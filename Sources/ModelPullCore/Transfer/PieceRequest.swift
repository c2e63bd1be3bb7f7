import Foundation

/// Why a parallel fetch cannot go on as one, so the caller starts over another way.
enum RangeFetchObstacle: Error, Equatable {
    /// The server answered a range request with the whole file (it ignores ranges), or never
    /// says how long the file is: only one in-order stream can fetch it.
    case rangesUnsupported
    /// `If-Range` did not match: the remote file changed since our partial was written.
    case remoteChanged
}

/// One ranged GET for what is left of a piece: checks that the response is the range asked for
/// (`RangeAnswer`), writes the body at its offsets through the cursor, and stops early
/// when another worker took the rest of the piece meanwhile.
struct PieceRequest {
    let http: HTTPClient
    let url: URL
    let headers: [String: String]
    let validator: String?
    let idleTimeout: TimeInterval
    let file: PartialFile
    /// The file size, when known; nil while the first response has yet to reveal it.
    let expectedTotal: Int64?
    /// Whether `expectedTotal` is a listing's promise, not a size learned from the server.
    let totalIsListed: Bool
    /// Asked now and then while bytes flow: true when this download should give its connection
    /// to another (`ConnectionBudget.shouldYield`).
    let shouldYield: @Sendable () -> Bool

    enum Outcome {
        /// A 2xx that delivered `received` bytes; `total` from `Content-Range`.
        case delivered(received: Int64, promised: Int64, total: Int64, head: HTTPResponseHead)
        /// Ended early to hand the connection to another download; what was written stands.
        case yielded
        /// A non-2xx answer, with the start of its body for error messages.
        case status(HTTPResponseHead, body: Data)
    }

    /// `onTotal` hears the size from the head, before any byte is written, and may throw to
    /// refuse (the disk-space check).
    func run(_ cursor: PieceCursor, onTotal: @escaping @Sendable (Int64, HTTPResponseHead) throws -> Void) async throws -> Outcome {
        let first = cursor.position
        let last = cursor.end - 1
        var fields = headers
        fields["Range"] = "bytes=\(first)-\(last)"
        if let validator { fields["If-Range"] = validator }
        let request = HTTPRequest(url: url, headers: fields, redirects: .follow, idleTimeout: idleTimeout)
        let body = PieceBody(cursor: cursor, file: file, first: first, requestedEnd: last + 1,
                             expectedTotal: expectedTotal, totalIsListed: totalIsListed,
                             validatorSent: validator != nil, shouldYield: shouldYield, onTotal: onTotal)
        do {
            let result = try await http.streamBody(request, onHead: body.accept, onData: body.write)
            guard result.head.isSuccess else { return .status(result.head, body: result.errorBody ?? Data()) }
            return .delivered(received: body.received, promised: body.promised, total: body.total, head: result.head)
        } catch PieceBody.Stop.pieceTaken {
            // The rest of the piece went to another worker; what we wrote stands.
            return .delivered(received: body.received, promised: body.received, total: body.total, head: body.head!)
        } catch PieceBody.Stop.yielded {
            return .yielded
        }
    }
}

/// The per-request state the network callbacks touch. Callbacks of one request come in order on
/// one thread at a time, so only the cursor (shared with a worker that may split it) locks.
private final class PieceBody: @unchecked Sendable {
    enum Stop: Error { case pieceTaken, yielded }
    /// How often a flowing body asks whether to yield: often enough that a connection dripping a
    /// byte a second hands over within a second or so, rarely enough to cost nothing at speed.
    static let yieldCheckInterval = 0.25

    let cursor: PieceCursor
    let file: PartialFile
    let first: Int64
    let requestedEnd: Int64
    let expectedTotal: Int64?
    let totalIsListed: Bool
    let validatorSent: Bool
    let shouldYield: @Sendable () -> Bool
    let onTotal: @Sendable (Int64, HTTPResponseHead) throws -> Void
    private var lastYieldCheck = monotonicSeconds()
    private(set) var head: HTTPResponseHead?
    private(set) var promised: Int64 = 0
    private(set) var total: Int64 = 0
    private(set) var received: Int64 = 0
    private var limit: Int64 = 0

    init(cursor: PieceCursor, file: PartialFile, first: Int64, requestedEnd: Int64, expectedTotal: Int64?,
         totalIsListed: Bool, validatorSent: Bool, shouldYield: @escaping @Sendable () -> Bool,
         onTotal: @escaping @Sendable (Int64, HTTPResponseHead) throws -> Void) {
        self.cursor = cursor
        self.file = file
        self.first = first
        self.requestedEnd = requestedEnd
        self.expectedTotal = expectedTotal
        self.totalIsListed = totalIsListed
        self.validatorSent = validatorSent
        self.shouldYield = shouldYield
        self.onTotal = onTotal
    }

    @Sendable func accept(_ head: HTTPResponseHead) throws {
        guard head.isSuccess else { return }
        guard head.status == 206 else {
            throw validatorSent ? RangeFetchObstacle.remoteChanged : RangeFetchObstacle.rangesUnsupported
        }
        let answer = try RangeAnswer(head, asked: first...(requestedEnd - 1), expectedTotal: expectedTotal,
                                     totalIsListed: totalIsListed)
        guard let total = answer.total else { throw RangeFetchObstacle.rangesUnsupported }
        try onTotal(total, head)
        self.head = head
        self.total = total
        promised = answer.length
        limit = first + promised
    }

    @Sendable func write(_ data: Data) throws {
        let taken = try data.withUnsafeBytes { try cursor.write($0, limit: limit, to: file) }
        received += Int64(taken)
        guard taken < data.count else {
            let now = monotonicSeconds()
            if received < promised, now - lastYieldCheck >= Self.yieldCheckInterval {
                lastYieldCheck = now
                if shouldYield() { throw Stop.yielded }
            }
            return
        }
        if received < promised {
            // The cursor's end moved below what this request asked for: another worker fetches
            // the rest, so this transfer stops (its connection closes) instead of duplicating it.
            throw Stop.pieceTaken
        }
        // More than the response promised (an endless body): none of it was written, and the
        // response ends here as a failed attempt instead of being read forever.
        throw TransferError.protocolViolation("the server sent more than the \(promised) bytes it promised")
    }
}
