import Foundation

/// Where fetched bytes go, in order. The fetcher resumes from `length` and asks the sink to
/// start over when the server cannot continue where we left off.
public protocol SequentialSink: AnyObject, Sendable {
    /// Bytes already written, and so the offset the next byte belongs at.
    var length: Int64 { get }
    func append(_ data: Data) throws
    /// Drops everything written so far (the server sent the whole file instead of a range, or
    /// the remote file changed).
    func restart() throws
}

/// Downloads one resource in order into a sink with bounded-size range requests, resuming after
/// drops, stalls and short bodies, and backing off on 408/429/5xx. `FileTransfer` uses it for
/// small files, servers without ranges and single-connection downloads.
///
/// Each request asks for at most `chunkSize` bytes, which bounds how much URLSession (the
/// fallback engine, without back-pressure on Linux) can buffer when the disk is slower than the
/// network; libcurl reads only as fast as we write. A request holds one slot of the client's
/// `ConnectionBudget` while it runs.
///
/// Every way an attempt can fail is counted, and only an attempt that moved the file forward
/// resets the count, so no answer a server can give (a range past its own total, a file that
/// keeps changing, bytes dripping below the floor) makes this loop run forever.
public struct SequentialFetcher: Sendable {
    public var http: HTTPClient
    public var retry: RetryPolicy
    public var chunkSize: Int64

    public init(http: HTTPClient, retry: RetryPolicy = .standard, chunkSize: Int64 = TransferTuning.standard.inOrderRequestSize) {
        self.http = http
        self.retry = retry
        self.chunkSize = chunkSize
    }

    /// Fetches `source` into `sink`, starting at `sink.length`, telling `observer` what the
    /// responses say (`started`), each retry and each restart from zero (`retrying`); progress
    /// is the sink's to report.
    public func fetch(_ source: FetchSource, into sink: SequentialSink,
                      observer: TransferObserver = TransferObserver()) async throws -> FetchOutcome {
        var state = FetchState(total: source.expectedSize,
                               identity: RemoteIdentityWatch(validator: source.validator, onStart: observer.started))
        var failures = ConsecutiveFailures(retry)

        while true {
            try Task.checkCancellation()
            let start = sink.length
            if let total = state.total, start == total {
                // Everything is on disk already (a resumed file that was complete, or empty).
                return state.outcome(size: start)
            }
            let step: Step
            if let total = state.total, start > total {
                // More on disk than the file holds: not bytes of this file. Counted, so it can never spin.
                try sink.restart()
                step = .failed("the partial file was longer than the remote file")
            } else {
                step = try await attempt(source, from: start, into: sink, state: &state, lastAttempt: failures.isLastAttempt, onRestart: observer.retrying)
            }
            switch step {
            case .finished(let size):
                return state.outcome(size: size)
            case .advanced:
                failures.reset()
            case .failed(let failure, let wait, let moved):
                // Count only failures that made no progress; a transfer that moves is not failing.
                guard failures.record(movedForward: moved && sink.length > start) else {
                    throw FailedAttempt.exhausted(source.url, attempts: failures.count, last: failure, keptBytes: sink.length)
                }
                let pause = failures.pause(failure, subject: source.url.lastPathComponent, serverWait: wait)
                observer.retrying(pause.message)
                try await Task.sleep(for: .seconds(pause.seconds))
            }
        }
    }

    /// What the fetch has learned so far, across its requests.
    private struct FetchState {
        var total: Int64?
        let identity: RemoteIdentityWatch
        var etag: String?
        var lastModified: String?

        func outcome(size: Int64) -> FetchOutcome {
            FetchOutcome(size: size, etag: etag, lastModified: lastModified, validator: identity.validator)
        }
    }

    private enum Step {
        /// The file is whole at `size` bytes.
        case finished(size: Int64)
        /// One range arrived whole; the next one follows.
        case advanced
        /// The attempt failed; `countsProgress` is false when bytes that came must not reset the
        /// failure count (they dripped in below the floor).
        case failed(String, wait: Double? = nil, countsProgress: Bool = true)
    }

    /// One request for the next range, and what it means for the loop.
    private func attempt(_ source: FetchSource, from start: Int64, into sink: SequentialSink,
                         state: inout FetchState, lastAttempt: Bool,
                         onRestart: @escaping @Sendable (String) -> Void) async throws -> Step {
        var headers = source.headers
        let end = state.total.map { min($0, start + chunkSize) - 1 } ?? (start + chunkSize - 1)
        headers["Range"] = "bytes=\(start)-\(end)"
        if start > 0, let validator = state.identity.validator { headers["If-Range"] = validator }
        let request = HTTPRequest(url: source.url, headers: headers, redirects: .follow, idleTimeout: source.idleTimeout)
        let name = source.url.lastPathComponent
        let attempt = RangeAttempt(asked: start...end, expectedTotal: state.total,
                                   totalIsListed: source.expectedSize != nil, sink: sink, identity: state.identity,
                                   onRestart: { onRestart($0.message(name)) })
        do {
            try await http.connectionBudget.acquire()
            let result: HTTPClient.StreamResult
            do {
                result = try await http.streamBody(request, onHead: attempt.accept, onData: attempt.write)
                http.connectionBudget.release()
            } catch {
                http.connectionBudget.release()
                throw error
            }
            let head = result.head
            if head.isSuccess {
                state.etag = head.headers["ETag"] ?? state.etag
                state.lastModified = head.headers["Last-Modified"] ?? state.lastModified
                state.total = attempt.learnedTotal ?? state.total
                if let shortfall = attempt.shortfall() {
                    return .failed("the server sent \(shortfall.received) of \(shortfall.expected) bytes")
                }
                // No ranges: the body we got is the file. A server that does not know the
                // length (`bytes a-b/*`) ends the file with a range shorter than asked.
                if attempt.isWholeBody || (state.total == nil && attempt.endedShort) {
                    return .finished(size: sink.length)
                }
                return .advanced
            }
            if head.status == 416 {
                let remoteTotal = ContentRange.unsatisfiedTotal(head.headers["Content-Range"])
                if let remoteTotal, remoteTotal == sink.length, source.expectedSize.map({ $0 == remoteTotal }) ?? true {
                    return .finished(size: remoteTotal)
                }
                try sink.restart()
                return .failed("the server refused the range (416)")
            }
            guard RetryPolicy.isRetryable(status: head.status), !lastAttempt else {
                throw HTTPStatusError(head: head, body: result.errorBody ?? Data())
            }
            return .failed("the server answered HTTP \(head.status)", wait: try FailedAttempt.serverDelay(head, policy: retry))
        } catch let error as TransferError {
            // A response that passed the range check and then failed (cut short, or running past
            // its promised end) still told the file's size: without it the next request could not
            // see that the bytes on disk already make the whole file, and would ask past its end.
            state.total = attempt.learnedTotal ?? state.total
            return .failed(try FailedAttempt.describe(error, url: source.url), countsProgress: !FailedAttempt.isTooSlow(error))
        } catch RangeFetchObstacle.remoteChanged {
            // A range of another version (the server ignored If-Range): the bytes on disk cannot
            // be continued, nor trusted is the size learned from it. Counted, so a server that
            // keeps changing cannot keep us restarting.
            try sink.restart()
            state.total = source.expectedSize
            return .failed("the remote file changed during the download; starting it again")
        }
    }
}

/// The bookkeeping of one request: checks the response matches the range asked for, writes
/// the body to the sink (never a byte past what the response promised), and tells afterwards
/// whether bytes were missing.
private final class RangeAttempt: Sendable {
    let asked: ClosedRange<Int64>
    let expectedTotal: Int64?
    let totalIsListed: Bool
    let sink: SequentialSink
    let identity: RemoteIdentityWatch
    /// Hears why, when a whole body is about to replace the bytes on disk.
    private let onRestart: @Sendable (WholeBodyRestart) -> Void
    /// What the response said and what it delivered.
    private struct Answer {
        var learnedTotal: Int64?
        var isWholeBody = false
        /// Where this response's body must end; nil when nothing says (a chunked whole body of
        /// a file of unknown size).
        var promised: Int64?
        var received: Int64 = 0
    }
    private let answer = LockedValue(Answer())

    var learnedTotal: Int64? { answer.current.learnedTotal }
    var isWholeBody: Bool { answer.current.isWholeBody }

    init(asked: ClosedRange<Int64>, expectedTotal: Int64?, totalIsListed: Bool, sink: SequentialSink,
         identity: RemoteIdentityWatch, onRestart: @escaping @Sendable (WholeBodyRestart) -> Void) {
        self.onRestart = onRestart
        self.asked = asked
        self.expectedTotal = expectedTotal
        self.totalIsListed = totalIsListed
        self.sink = sink
        self.identity = identity
    }

    @Sendable func accept(_ head: HTTPResponseHead) throws {
        guard head.isSuccess else { return }
        try answer.withLock { s in
            if head.status == 206 {
                let range = try RangeAnswer(head, asked: asked, expectedTotal: expectedTotal, totalIsListed: totalIsListed)
                // A range from byte 0 into an empty file starts the file over: it may be another version.
                let restartsFile = asked.lowerBound == 0 && sink.length == 0
                try identity.heard(head, size: range.total ?? expectedTotal, restartsFile: restartsFile)
                s.learnedTotal = range.total
                s.promised = range.length
            } else {
                // A full body: the server ignores ranges, or the file changed since our partial.
                let length = head.contentLength
                // Another length than a listing promised is an error; than a size learned earlier,
                // it is the new version, which this whole body replaces the partial with.
                if let length, let expectedTotal, length != expectedTotal, totalIsListed {
                    throw DownloadFailure(.integrity,
                        "The server's file is \(length) bytes but the listing said \(expectedTotal). Retry to fetch the new revision.",
                        retryable: true)
                }
                let validatorSent = identity.validator
                try identity.heard(head, size: length ?? expectedTotal, restartsFile: true)
                if asked.lowerBound > 0 || sink.length > 0 {
                    // What is on disk is dropped: say why before the first new byte, so no one is
                    // told it was resumed.
                    let validatorNow = RangeValidator.strong(in: head)
                    onRestart(validatorSent != nil && validatorNow != nil && validatorSent != validatorNow ? .remoteChanged : .rangesIgnored)
                    try sink.restart()
                }
                s.isWholeBody = true
                s.learnedTotal = length
                // The body may not run past the file: its Content-Length, else the listed size.
                s.promised = length ?? (totalIsListed ? expectedTotal : nil)
            }
        }
    }

    @Sendable func write(_ data: Data) throws {
        let room: Int64? = answer.withLock { s in s.promised.map { $0 - s.received } }
        guard let allowed = room, Int64(data.count) > allowed else {
            try sink.append(data)
            answer.withLock { $0.received += Int64(data.count) }
            return
        }
        // Bytes past the promised end are never stored (they would corrupt the next range or
        // grow the file without bound, like an endless chunked body); the response ends here.
        try sink.append(data.prefix(Int(max(0, allowed))))
        let end = answer.withLock { s -> Int64 in
            s.received += max(0, allowed)
            return s.promised ?? 0
        }
        throw TransferError.protocolViolation("the server sent more than the \(end) bytes it promised")
    }

    func shortfall() -> (expected: Int64, received: Int64)? {
        let s = answer.current
        guard let promised = s.promised, s.received < promised else { return nil }
        return (promised, s.received)
    }

    /// The range answered is shorter than the one asked: the file ends there.
    var endedShort: Bool {
        let s = answer.current
        return !s.isWholeBody && (s.promised ?? 0) < Int64(asked.count)
    }
}
