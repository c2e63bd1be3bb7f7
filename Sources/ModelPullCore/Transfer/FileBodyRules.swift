import Foundation

/// The rules a file body's response must follow on either engine, checked in one place
/// (`HTTPClient.streamBody` applies them before `onHead` sees the head, libcurl's and
/// URLSession's alike), so the two engines cannot disagree about what they store.
enum FileBodyHead {
    /// Refuses a 2xx head whose body we must not store:
    ///
    /// - a content coding other than `identity`: we ask for identity, so a server that encodes
    ///   anyway sends bytes that are not the file (libcurl would store the raw gzip; URLSession
    ///   decodes it and stops at the compressed length), and its lengths and ranges count encoded
    ///   bytes. The same server does it again, so this is not retried.
    /// - `Content-Length` values that conflict (two fields, or one list, RFC 9110 §8.6 and
    ///   RFC 9112 §6.3): the body's end is unknowable. Identical repeats are accepted.
    static func check(_ head: HTTPResponseHead) throws(TransferError) {
        guard head.isSuccess else { return }
        if let codings = head.headers["Content-Encoding"] {
            let unasked = codings.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                .filter { !$0.isEmpty && $0 != "identity" }
            if !unasked.isEmpty {
                throw .unacceptableResponse(
                    "the server sent the file with Content-Encoding \(unasked.joined(separator: ", ")), which was not asked for (Accept-Encoding: identity)")
            }
        }
        if let lengths = head.headers["Content-Length"] {
            let values = Set(lengths.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            guard values.count == 1, let value = values.first, let length = Int64(value), length >= 0 else {
                throw .unacceptableResponse("the server sent conflicting or invalid Content-Length values (\(lengths))")
            }
        }
    }

    /// How long a complete response head may take, from the request (or redirect hop) on: the
    /// idle timeout (`stallSeconds`). A server that sends one header line a second keeps the
    /// idle clock quiet forever; a real one sends its head in one packet, so a head that takes
    /// longer than a whole stall period is treated as a stall.
    static func deadline(for request: HTTPRequest) -> TimeInterval { request.idleTimeout }
}

/// The slowest a file body may arrive: `minimumBytesPerSecond`, judged over windows of the idle
/// timeout. Without it, a server dripping a byte a second never trips the stall timer and holds
/// its connection (and the budget slot) forever.
///
/// Only time spent waiting on the network counts (`waited`), never time the consumer spent
/// writing, so a slow disk is never taken for a slow server: libcurl's event loop counts the
/// time it waits in poll, URLSession's lanes subtract the time their delegate queue spent in
/// consumers (`ConsumerClock`).
struct ThroughputFloor: Sendable {
    /// 1 KiB/s: slower than any link a model download can finish on, faster than any drip.
    static let minimumBytesPerSecond: Double = 1024

    let window: TimeInterval
    private var windowSeconds: TimeInterval = 0
    private var windowBytes: Int64 = 0

    init(window: TimeInterval) { self.window = max(0.001, window) }

    mutating func received(_ count: Int) { windowBytes += Int64(count) }

    /// Adds network time; returns the failure when a whole window passed below the floor.
    mutating func waited(_ seconds: TimeInterval) -> TransferError? {
        windowSeconds += seconds
        guard windowSeconds >= window else { return nil }
        defer { windowSeconds = 0; windowBytes = 0 }
        guard Double(windowBytes) < Self.minimumBytesPerSecond * windowSeconds else { return nil }
        return .tooSlow(bytes: windowBytes, seconds: windowSeconds)
    }
}
