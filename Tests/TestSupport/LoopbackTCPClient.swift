import Foundation

/// A raw TCP client for tests that need to see bytes exactly as the server sent them, or to
/// control the connection themselves (pipelining, holding a keep-alive connection open while
/// the server stops, sending malformed requests).
///
///     let client = try LoopbackTCPClient(port: server.port)
///     try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
///     let reply = try client.receive(until: "\r\n\r\n")
public final class LoopbackTCPClient {
    private let fd: Int32
    private var closed = false
    /// Bytes received beyond what `receive(until:)` returned, kept for the next call.
    private var pending = Data()

    /// Connects to 127.0.0.1:port. Every receive gives up after `timeout` seconds of silence.
    public init(port: UInt16, timeout: TimeInterval = 5) throws {
        fd = try Socket.connectLoopback(port: port)
        do {
            try Socket.setReceiveTimeout(fd, seconds: timeout)
        } catch {
            Socket.closeDescriptor(fd)
            throw error
        }
    }

    deinit {
        close()
    }

    public func send(_ text: String) throws {
        try send(Data(text.utf8))
    }

    public func send(_ data: Data) throws {
        try Socket.sendAll(fd, data)
    }

    /// Returns whatever arrives next (buffered bytes first); empty Data means the server closed.
    /// Throws when nothing arrives within the timeout.
    public func receive() throws -> Data {
        if !pending.isEmpty {
            defer { pending = Data() }
            return pending
        }
        return try Socket.receive(fd)
    }

    /// Reads until `marker` has arrived and returns everything up to and including it, or up to
    /// the end of stream if the server closed first.
    public func receive(until marker: String) throws -> Data {
        let needle = Data(marker.utf8)
        while true {
            if let found = pending.range(of: needle) {
                let result = pending.prefix(upTo: found.upperBound)
                pending = Data(pending.suffix(from: found.upperBound))
                return Data(result)
            }
            let more = try Socket.receive(fd)
            if more.isEmpty {
                defer { pending = Data() }
                return pending
            }
            pending.append(more)
        }
    }

    /// Reads exactly `count` more bytes (fewer only if the server closed first).
    public func receive(count: Int) throws -> Data {
        while pending.count < count {
            let more = try Socket.receive(fd)
            if more.isEmpty { break }
            pending.append(more)
        }
        let result = Data(pending.prefix(count))
        pending = Data(pending.dropFirst(result.count))
        return result
    }

    /// Reads until the server closes the connection.
    public func receiveUntilClosed() throws -> Data {
        var all = pending
        pending = Data()
        while true {
            let more = try Socket.receive(fd)
            if more.isEmpty { return all }
            all.append(more)
        }
    }

    public func close() {
        guard !closed else { return }
        closed = true
        Socket.closeDescriptor(fd)
    }
}
