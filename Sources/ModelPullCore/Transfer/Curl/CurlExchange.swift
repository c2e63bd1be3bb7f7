import CModelPullCurl
import Foundation

/// One HTTP request and response on libcurl, redirects not followed (`CurlBodyTransport`
/// decides those). Built on the caller's thread; from `CurlEventLoop.add` on, its callbacks,
/// head parsing and completion run on the loop's thread only. Only cancellation and the
/// continuation cross threads, under a lock.
final class CurlExchange: @unchecked Sendable {
    struct Outcome: Sendable {
        var head: HTTPResponseHead
        /// The start of a non-2xx body, for error messages.
        var errorBody: Data?
        /// The head was a redirect the caller follows; its body was discarded.
        var isRedirect: Bool
    }

    /// What happens to the body, decided when the head is complete.
    private enum BodyRoute {
        case deliver
        case discardRedirect
        case keepErrorPage
    }

    /// How the request is made and judged.
    struct Settings: Sendable {
        var method = "GET"
        var body: Data?
        var idleTimeout: TimeInterval
        /// How long a complete head may take (`FileBodyHead.deadline`; header lines do not reset
        /// it), for file bodies; nil for API calls, which have only the idle timeout.
        var headDeadline: TimeInterval?
        /// Whether the body must keep above `ThroughputFloor` (file bodies).
        var throughputFloor: Bool
        /// The proxy to go through, or nil for a direct connection.
        var proxy: ProxyEnvironment.Proxy?
        var trust: TrustEnvironment
    }

    let easy: UnsafeMutableRawPointer
    let url: URL
    let idleTimeout: TimeInterval
    let headDeadline: TimeInterval
    private let settings: Settings
    private var headerList: UnsafeMutableRawPointer?
    private let errorMessage: UnsafeMutablePointer<CChar>
    private let follows: @Sendable (HTTPResponseHead) -> Bool
    private let onHead: @Sendable (HTTPResponseHead) throws -> Void
    private let onData: @Sendable (Data) throws -> Void

    // Loop-thread state.
    /// Seconds spent waiting on the network since this exchange last received a byte.
    private var idleSeconds: TimeInterval = 0
    /// Seconds spent waiting on the network for the head, until its blank line.
    private var headSeconds: TimeInterval = 0
    private var headComplete = false
    /// Body time not yet judged by the floor (judged after each read, see `expiry`).
    private var unjudgedSeconds: TimeInterval = 0
    private var floor: ThroughputFloor?
    private var status = 0
    private var fields: [String: String] = [:]
    private var head: HTTPResponseHead?
    private var route = BodyRoute.deliver
    private var errorPage: ErrorPageCapture
    private var failure: (any Error)?

    // Shared state.
    /// Who waits for the outcome, and whether it was cancelled: the only state that crosses
    /// threads.
    private let waiting = LockedValue<(continuation: CheckedContinuation<Outcome, any Error>?, cancelled: Bool)>((nil, false))

    /// Nil when libcurl cannot make a handle (out of memory).
    init?(url: URL, headers: [String: String], settings: Settings, errorBodyLimit: Int,
          follows: @escaping @Sendable (HTTPResponseHead) -> Bool,
          onHead: @escaping @Sendable (HTTPResponseHead) throws -> Void,
          onData: @escaping @Sendable (Data) throws -> Void) {
        guard let easy = mp_curl_easy_init() else { return nil }
        self.easy = easy
        self.url = url
        self.settings = settings
        idleTimeout = settings.idleTimeout
        headDeadline = settings.headDeadline ?? .infinity
        floor = settings.throughputFloor ? ThroughputFloor(window: settings.idleTimeout) : nil
        errorPage = ErrorPageCapture(limit: errorBodyLimit)
        self.follows = follows
        self.onHead = onHead
        self.onData = onData
        errorMessage = .allocate(capacity: CurlOption.errorBufferSize)
        errorMessage.initialize(repeating: 0, count: CurlOption.errorBufferSize)
        configure(headers: headers)
    }

    deinit {
        mp_curl_easy_cleanup(easy)
        if let headerList { mp_curl_slist_free_all(headerList) }
        errorMessage.deallocate()
    }

    private func configure(headers: [String: String]) {
        let this = Unmanaged.passUnretained(self).toOpaque()
        _ = mp_curl_easy_setopt_pointer(easy, CurlOption.url, url.absoluteString)
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            headerList = mp_curl_slist_append(headerList, "\(name): \(value)")
        }
        _ = mp_curl_easy_setopt_pointer(easy, CurlOption.httpHeader, headerList)
        _ = mp_curl_easy_setopt_pointer(easy, CurlOption.errorBuffer, errorMessage)
        _ = mp_curl_easy_setopt_callback(easy, CurlOption.writeFunction, curlWriteCallback)
        _ = mp_curl_easy_setopt_pointer(easy, CurlOption.writeData, this)
        _ = mp_curl_easy_setopt_callback(easy, CurlOption.headerFunction, curlHeaderCallback)
        _ = mp_curl_easy_setopt_pointer(easy, CurlOption.headerData, this)
        // Threads, not signals, for timeouts; redirects are ours to judge (tokens stay home).
        _ = mp_curl_easy_setopt_long(easy, CurlOption.noSignal, 1)
        _ = mp_curl_easy_setopt_long(easy, CurlOption.followLocation, 0)
        _ = mp_curl_easy_setopt_long(easy, CurlOption.protocols, CurlOption.protocolHTTP | CurlOption.protocolHTTPS)
        // One connection per range: CDNs throttle per connection, and HTTP/2 would multiplex
        // every range of a file onto one.
        _ = mp_curl_easy_setopt_long(easy, CurlOption.httpVersion, CurlOption.httpVersion1_1)
        _ = mp_curl_easy_setopt_long(easy, CurlOption.bufferSize, CurlExchange.readSize)
        _ = mp_curl_easy_setopt_long(easy, CurlOption.tcpKeepAlive, 1)
        configureMethod()
        // Our decision, not libcurl's own reading of the environment (lower-case only, no ports
        // in no_proxy): an empty proxy means a direct connection.
        _ = mp_curl_easy_setopt_pointer(easy, CurlOption.proxy, settings.proxy?.url ?? "")
        // Certificates: SSL_CERT_FILE and friends when set, else libcurl's built-in bundle.
        if let bundle = settings.trust.bundle { _ = mp_curl_easy_setopt_pointer(easy, CurlOption.caInfo, bundle.path) }
        if let directory = settings.trust.directory { _ = mp_curl_easy_setopt_pointer(easy, CurlOption.caPath, directory.path) }
    }

    /// GET is libcurl's default; HEAD asks for no body; anything else is a custom method with the
    /// body (libcurl copies it).
    private func configureMethod() {
        switch settings.method {
        case "GET":
            break
        case "HEAD":
            _ = mp_curl_easy_setopt_long(easy, CurlOption.noBody, 1)
        default:
            if let body = settings.body {
                _ = mp_curl_easy_setopt_long(easy, CurlOption.postFieldSize, body.count)
                body.withUnsafeBytes { _ = mp_curl_easy_setopt_pointer(easy, CurlOption.copyPostFields, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)) }
            }
            _ = mp_curl_easy_setopt_pointer(easy, CurlOption.customRequest, settings.method)
        }
    }

    /// Bytes per read from the socket, and so the most handed to `onData` at once: large enough
    /// that per-read costs vanish, small enough that 16 connections hold 8 MiB.
    static let readSize = 512 << 10

    // MARK: Crossing threads

    /// Registers the waiting caller; false if the exchange was cancelled first.
    func attach(_ continuation: CheckedContinuation<Outcome, any Error>) -> Bool {
        waiting.withLock { waiting in
            guard !waiting.cancelled else { return false }
            waiting.continuation = continuation
            return true
        }
    }

    /// Marks the exchange cancelled; the loop removes it and completes it.
    func markCancelled() {
        waiting.withLock { $0.cancelled = true }
    }

    var isCancelled: Bool { waiting.current.cancelled }

    // MARK: Loop thread

    /// The loop waited `seconds` on the network (time in any exchange's callbacks, such as a
    /// slow disk write, is not network time and never reaches here).
    func networkWaited(_ seconds: TimeInterval) {
        idleSeconds += seconds
        if headComplete { unjudgedSeconds += seconds } else { headSeconds += seconds }
    }

    /// Why the exchange must end now, if it must: nothing for the idle timeout, a head slower
    /// than its deadline, or a body below the throughput floor.
    func expiry() -> TransferError? {
        if idleSeconds >= idleTimeout { return .stalled(seconds: idleTimeout) }
        if !headComplete { return headSeconds >= headDeadline ? .headTimedOut(seconds: headDeadline) : nil }
        defer { unjudgedSeconds = 0 }
        return floor?.waited(unjudgedSeconds)
    }

    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        idleSeconds = 0
        let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if line.isEmpty {
            // The blank line ends a head; a 1xx head is followed by the real one.
            headComplete = status >= 200
            return
        }
        if line.hasPrefix("HTTP/") {
            // A new status line starts a new head (after a 100 Continue or a proxy's CONNECT).
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            fields = [:]
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
        let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return }
        let key = name.lowercased()
        fields[key] = fields[key].map { "\($0), \(value)" } ?? value
    }

    /// Returns the bytes taken; fewer than offered stops the transfer.
    func receiveBody(_ bytes: UnsafeMutableRawPointer, count: Int) -> Int {
        idleSeconds = 0
        floor?.received(count)
        guard failure == nil, !isCancelled, completeHead() else { return 0 }
        switch route {
        case .discardRedirect:
            return count
        case .keepErrorPage:
            // Enough to quote: stop reading (an error page that never ends must not hold us).
            return errorPage.append(UnsafeRawBufferPointer(start: bytes, count: count)) ? count : 0
        case .deliver:
            do {
                // No copy: the consumer writes these bytes before returning (see `streamBody`).
                try onData(Data(bytesNoCopy: bytes, count: count, deallocator: .none))
                return count
            } catch {
                failure = error
                return 0
            }
        }
    }

    /// Builds the head once the first body byte (or the end) shows which head is final.
    private func completeHead() -> Bool {
        if head != nil { return true }
        let head = HTTPResponseHead(status: status, headers: HTTPHeaders(fields), url: url)
        self.head = head
        if head.isRedirect && follows(head) {
            // A hop, not the response: the caller sees only the head that ends the chain.
            route = .discardRedirect
            return true
        }
        route = head.isSuccess ? .deliver : .keepErrorPage
        do { try onHead(head) } catch { failure = error; return false }
        return true
    }

    /// Ends the exchange with libcurl's result code, or with `override` (cancelled, stalled).
    func finish(code: Int32, override: (any Error)? = nil) {
        if override == nil, code == CurlCode.ok, head == nil, status > 0 { _ = completeHead() }
        let result = ExchangeEnding.decide(failure: failure ?? override, cancelled: isCancelled, head: head, errorPage: errorPage) {
            code == CurlCode.ok ? nil : transportError(code)
        }.map { Outcome(head: $0.head, errorBody: $0.errorBody, isRedirect: route == .discardRedirect && !errorPage.isCut) }
        let continuation = waiting.withLock { waiting -> CheckedContinuation<Outcome, any Error>? in
            defer { waiting.continuation = nil }
            return waiting.continuation
        }
        continuation?.resume(with: result)
    }

    private func transportError(_ code: Int32) -> any Error {
        let detail = String(cString: errorMessage)
        let reason = detail.isEmpty ? String(cString: mp_curl_easy_strerror(code)) : detail
        switch code {
        case CurlCode.operationTimedOut: return TransferError.stalled(seconds: idleTimeout)
        case CurlCode.abortedByCallback: return CancellationError()
        case CurlCode.unsupportedProtocol, CurlCode.urlMalformed: return TransferError.unsupportedURL(url.redactedForLogs)
        case CurlCode.peerFailedVerification, CurlCode.caCertificateBadFile:
            return TransferError.untrustedCertificate(host: url.host ?? "", reason: reason, advice: settings.trust.advice)
        default:
            if let proxy = settings.proxy, CurlCode.isProxyFailure(code, reason: reason, head: head) {
                return TransferError.proxyFailed(proxy: proxy.display, reason: ProxyText.scrub(reason, proxy: proxy))
            }
            return TransferError.network(reason)
        }
    }
}

/// libcurl's callbacks: C functions that find their exchange through the user-data pointer.
private let curlWriteCallback: mp_curl_data_callback = { bytes, size, count, user in
    guard let bytes, let user else { return 0 }
    let exchange = Unmanaged<CurlExchange>.fromOpaque(user).takeUnretainedValue()
    return exchange.receiveBody(UnsafeMutableRawPointer(bytes), count: size * count)
}

private let curlHeaderCallback: mp_curl_data_callback = { bytes, size, count, user in
    guard let bytes, let user else { return 0 }
    let exchange = Unmanaged<CurlExchange>.fromOpaque(user).takeUnretainedValue()
    exchange.receiveHeaderLine(UnsafeRawBufferPointer(start: bytes, count: size * count))
    return size * count
}
