import Foundation

/// Thrown when the server deliberately ends a connection mid-response (an injected drop or
/// stall-then-close, or `stop()`); the connection loop closes the socket without a reply.
struct ConnectionAborted: Error {}

/// Sends one response body: frames it (raw or chunked), applies the body faults (drop, stall,
/// corruption, rate limit) and counts the payload bytes that reached the kernel.
///
/// Keeping all of that here means every body kind (bytes, chunks, streams) misbehaves the same
/// way, and the counters always agree with what the client could have received.
final class BodyChannel {
    enum Framing {
        /// Bytes as-is; the length is promised by `Content-Length` or ended by closing.
        case raw
        /// HTTP/1.1 chunked transfer encoding; `finish()` writes the terminating empty chunk.
        case chunked
    }

    /// Largest single send; also the pacing unit for rate limiting, and small enough that the
    /// byte counters visibly advance during a large transfer.
    static let sliceSize = 16 * 1024

    private let fd: Int32
    private let framing: Framing
    private var faults: BodyFaults
    private let path: String
    private let counters: ByteCounters
    private let stopSignal: StopSignal
    /// When pacing began and how many bytes had been sent then (reset after a stall).
    private var pacingStart: DispatchTime?
    private var pacingBase = 0

    /// Payload bytes sent so far (excluding chunk framing).
    private(set) var bytesSent = 0

    init(fd: Int32, framing: Framing, faults: BodyFaults, path: String, counters: ByteCounters, stopSignal: StopSignal) {
        self.fd = fd
        self.framing = framing
        self.faults = faults
        self.path = path
        self.counters = counters
        self.stopSignal = stopSignal
    }

    /// Sends `data` as body bytes. Throws `ConnectionAborted` when a fault closes the
    /// connection, or a `SocketError` when the client has gone away.
    func write(_ data: Data) throws {
        var remaining = data[...]
        while !remaining.isEmpty {
            guard !stopSignal.isStopped else { throw ConnectionAborted() }
            try stallIfDue()
            var allowed = min(remaining.count, sliceLimit)
            if let drop = faults.dropAfter {
                guard drop > bytesSent else { throw ConnectionAborted() }
                allowed = min(allowed, drop - bytesSent)
            }
            if let stall = faults.stall, stall.afterBytes > bytesSent {
                allowed = min(allowed, stall.afterBytes - bytesSent)
            }
            try pace()
            let piece = corrupted(Data(remaining.prefix(allowed)), startingAt: bytesSent)
            try send(piece)
            remaining = remaining.dropFirst(allowed)
        }
    }

    /// Ends the body: honours a drop or stall that falls exactly at the end, then writes the
    /// final empty chunk when chunked.
    func finish() throws {
        try stallIfDue()
        if let drop = faults.dropAfter, bytesSent >= drop { throw ConnectionAborted() }
        if framing == .chunked { try Socket.sendAll(fd, Data("0\r\n\r\n".utf8)) }
    }

    /// Sleeps that end early (with `ConnectionAborted`) when the server stops.
    func sleep(_ seconds: TimeInterval) throws {
        guard stopSignal.sleep(seconds) else { throw ConnectionAborted() }
    }

    // MARK: - Private

    /// Counts first, then sends: a client can have read every byte before send() even returns
    /// here, and a test that checks the counters right after its download finished must see
    /// them. If the send fails, the part that never left is taken back off.
    private func send(_ payload: Data) throws {
        var wire = payload
        var framingPrefix = 0
        if framing == .chunked {
            // One buffer per chunk: size line, data and CRLF in a single send.
            wire = Data(String(payload.count, radix: 16).utf8) + Data([13, 10])
            framingPrefix = wire.count
            wire.append(payload)
            wire.append(contentsOf: [13, 10])
        }
        counters.add(payload.count, path: path)
        do {
            try Socket.sendAll(fd, wire)
            bytesSent += payload.count
        } catch let error as SocketError {
            let delivered = min(payload.count, max(0, error.bytesSent - framingPrefix))
            counters.add(delivered - payload.count, path: path)
            bytesSent += delivered
            throw error
        }
    }

    /// Performs the stall once the body has reached its offset.
    private func stallIfDue() throws {
        guard let stall = faults.stall, bytesSent >= stall.afterBytes else { return }
        faults.stall = nil
        try sleep(stall.seconds)
        if stall.outcome == .close { throw ConnectionAborted() }
        // Do not count the stall against the rate limit: restart the pacing clock.
        pacingStart = nil
    }

    /// Waits until sending the next slice keeps the average at or under the limit. The whole
    /// body is paced from its first byte, so the transfer takes at least
    /// (bytes - one slice) / rate seconds.
    private func pace() throws {
        guard let rate = faults.bytesPerSecond else { return }
        let now = DispatchTime.now()
        guard let start = pacingStart else {
            pacingStart = now
            pacingBase = bytesSent
            return
        }
        let due = Double(bytesSent - pacingBase) / Double(rate)
        let elapsed = Double(now.uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        if due > elapsed { try sleep(due - elapsed) }
    }

    /// Rate-limited bodies go out in slices of about an eighth of a second's worth, so even
    /// slow rates are paced smoothly rather than in one 16 KiB burst.
    private var sliceLimit: Int {
        guard let rate = faults.bytesPerSecond else { return Self.sliceSize }
        return max(1, min(Self.sliceSize, rate / 8))
    }

    private func corrupted(_ piece: Data, startingAt offset: Int) -> Data {
        guard !faults.corruptOffsets.isEmpty else { return piece }
        var bytes = [UInt8](piece)
        for target in faults.corruptOffsets where target >= offset && target < offset + bytes.count {
            bytes[target - offset] ^= 0xFF
        }
        return Data(bytes)
    }
}
