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
}

/// A non-2xx answer that retrying did not cure. Providers turn it into a `DownloadFailure`
/// with their own vocabulary (the Hub's `X-Error-Code`, Ollama's JSON error).
public struct HTTPStatusError: Error, Sendable {
    public var head: HTTPResponseHead
    public var body: Data
}

/// Downloads one resource in order into a sink with bounded-size range requests, resuming after
/// drops, stalls and short bodies, and backing off on 408/429/5xx. `FileTransfer` uses it for
/// small files, servers without ranges and single-connection downloads.
///
/// Each request asks for at most `chunkSize` bytes, which bounds how much URLSession (the
/// fallback engine, without back-pressure on Linux) can buffer when the disk is slower than the
/// network; libcurl reads only as fast as we write. A request holds one slot of the client's
/// `ConnectionBudget` while it runs.
public struct RangedFetcher: Sendable {
    public var http: HTTPClient
    public var retry: RetryPolicy
    public var chunkSize: Int64

    public init(http: HTTPClient, retry: RetryPolicy = .standard, chunkSize: Int64 = TransferTuning.standard.inOrderRequestSize) {
        self.http = http
        self.retry = retry
        self.chunkSize = chunkSize
    }

    /// Fetches `source` into `sink`, starting at `sink.length`. `onRetry` hears a human sentence
    /// each time a failure is retried.
    /// `onSize` hears the file's size as soon as a response reveals it, and may throw to stop
    /// (the disk-space preflight for files whose size no listing gave).
    public func fetch(_ source: FetchSource, into sink: SequentialSink,
                      onSize: @escaping @Sendable (Int64) throws -> Void = { _ in },
                      onRetry: @Sendable (String) -> Void = { _ in }) async throws -> FetchOutcome {
        var total = source.expectedSize
        var validator = source.validator
        var etag: String?
        var lastModified: String?
        var failures = 0

        while true {
            try Task.checkCancellation()
            let start = sink.length
            if let total, start == total {
                // Everything is on disk already (a resumed file that was complete, or empty).
                return FetchOutcome(size: start, etag: etag, lastModified: lastModified)
            }
            if let total, start > total { try sink.restart(); continue }

            var headers = source.headers
            let end = total.map { min($0, start + chunkSize) - 1 } ?? (start + chunkSize - 1)
            headers["Range"] = "bytes=\(start)-\(end)"
            if start > 0, let validator { headers["If-Range"] = validator }
            let request = HTTPRequest(url: source.url, headers: headers, redirects: .follow,
                                      idleTimeout: source.idleTimeout)
            let sizeKnown = total != nil
            let attempt = RangeAttempt(start: start, expectedTotal: total, sink: sink) { size in
                if !sizeKnown { try onSize(size) }
            }

            var failure: String
            var waitOverride: Double?
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
                    etag = head.headers["ETag"] ?? etag
                    lastModified = head.headers["Last-Modified"] ?? lastModified
                    validator = validator ?? etag ?? lastModified
                    total = attempt.learnedTotal ?? total
                    if let shortfall = attempt.shortfall() {
                        failure = "the server sent \(shortfall.received) of \(shortfall.expected) bytes"
                    } else if attempt.isWholeBody || total == nil {
                        // No ranges: the body we got is the file.
                        return FetchOutcome(size: sink.length, etag: etag, lastModified: lastModified)
                    } else {
                        // One range done; the loop asks for the next, or returns at the total.
                        failures = 0
                        continue
                    }
                } else if head.status == 416 {
                    let remoteTotal = ContentRange.unsatisfiedTotal(head.headers["Content-Range"])
                    if let remoteTotal, remoteTotal == sink.length, source.expectedSize.map({ $0 == remoteTotal }) ?? true {
                        return FetchOutcome(size: remoteTotal, etag: etag, lastModified: lastModified)
                    }
                    try sink.restart()
                    failure = "the server refused the range (416)"
                } else if RetryPolicy.isRetryable(status: head.status) {
                    failure = "the server answered HTTP \(head.status)"
                    if let after = RetryPolicy.retryAfter(head.headers) {
                        guard after <= retry.maxRetryAfter else {
                            throw DownloadFailure(.rateLimited,
                                "The server asks to wait \(Int(after)) s before retrying (HTTP \(head.status)). Try again later.",
                                retryAfterSeconds: after)
                        }
                        waitOverride = after
                    }
                    if failures + 1 >= retry.maxConsecutiveFailures {
                        throw HTTPStatusError(head: head, body: result.errorBody ?? Data())
                    }
                } else {
                    throw HTTPStatusError(head: head, body: result.errorBody ?? Data())
                }
            } catch let error as TransferError {
                switch error {
                case .stalled(let seconds):
                    failure = "no data arrived for \(Int(seconds)) s"
                case .network(let reason):
                    failure = "the connection failed (\(reason))"
                case .truncated(let expected, let received):
                    failure = "the server sent \(received) of \(expected) bytes"
                case .tooManyRedirects:
                    throw DownloadFailure(.upstream, "Too many redirects fetching \(source.url.redactedForLogs): the server is in a redirect loop.", retryable: false)
                case .protocolViolation(let what):
                    failure = "the server broke the protocol (\(what))"
                case .responseTooLarge, .unsupportedURL:
                    throw DownloadFailure(.upstream, "Cannot fetch \(source.url.redactedForLogs): \(error)", retryable: false)
                }
            }

            // Count only failures that made no progress; a transfer that moves is not failing.
            failures = sink.length > start ? 1 : failures + 1
            guard failures < retry.maxConsecutiveFailures else {
                throw DownloadFailure(.network,
                    "Download of \(source.url.lastPathComponent) failed after \(failures) attempts: \(failure). The bytes received are kept; retry to resume.",
                    details: ["url": .string(source.url.redactedForLogs)])
            }
            let delay = waitOverride ?? retry.delay(forAttempt: failures)
            onRetry("Retrying \(source.url.lastPathComponent) in \(String(format: "%.1f", delay)) s: \(failure) (attempt \(failures + 1) of \(retry.maxConsecutiveFailures))")
            try await Task.sleep(for: .seconds(delay))
        }
    }
}

/// The bookkeeping of one request: checks the response matches the range asked for, writes
/// the body to the sink, and tells afterwards whether bytes were missing.
private final class RangeAttempt: @unchecked Sendable {
    private let lock = NSLock()
    let start: Int64
    let expectedTotal: Int64?
    let sink: SequentialSink
    let onSize: @Sendable (Int64) throws -> Void
    private(set) var learnedTotal: Int64?
    private(set) var isWholeBody = false
    private var promised: Int64?
    private var received: Int64 = 0

    init(start: Int64, expectedTotal: Int64?, sink: SequentialSink, onSize: @escaping @Sendable (Int64) throws -> Void) {
        self.start = start
        self.expectedTotal = expectedTotal
        self.sink = sink
        self.onSize = onSize
    }

    @Sendable func accept(_ head: HTTPResponseHead) throws {
        guard head.isSuccess else { return }
        lock.lock(); defer { lock.unlock() }
        let contentLength = head.headers["Content-Length"].flatMap { Int64($0) }
        if head.status == 206 {
            guard let range = ContentRange(head.headers["Content-Range"]) else {
                throw TransferError.protocolViolation("206 without a valid Content-Range")
            }
            guard range.first == start else {
                throw TransferError.protocolViolation("asked for byte \(start), got \(range.first)")
            }
            if let total = range.total, let expectedTotal, total != expectedTotal {
                throw DownloadFailure(.integrity,
                    "The server's file is \(total) bytes but the listing said \(expectedTotal); the remote file changed. Retry to fetch the new revision.",
                    retryable: true)
            }
            learnedTotal = range.total
            promised = range.last - range.first + 1
        } else {
            // A full body: the server ignores ranges, or the file changed since our partial.
            if start > 0 || sink.length > 0 { try sink.restart() }
            if let contentLength, let expectedTotal, contentLength != expectedTotal {
                throw DownloadFailure(.integrity,
                    "The server's file is \(contentLength) bytes but the listing said \(expectedTotal). Retry to fetch the new revision.",
                    retryable: true)
            }
            isWholeBody = true
            learnedTotal = contentLength
            promised = contentLength
        }
        if let learnedTotal { try onSize(learnedTotal) }
    }

    @Sendable func write(_ data: Data) throws {
        lock.lock()
        let allowed = promised.map { $0 - received } ?? Int64(data.count)
        lock.unlock()
        // Never accept more than the server promised: extra bytes would corrupt the next range.
        let accepted = Int64(data.count) <= allowed ? data : data.prefix(Int(max(0, allowed)))
        try sink.append(accepted)
        lock.lock()
        received += Int64(accepted.count)
        lock.unlock()
    }

    func shortfall() -> (expected: Int64, received: Int64)? {
        lock.lock(); defer { lock.unlock() }
        guard let promised, received < promised else { return nil }
        return (promised, received)
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
