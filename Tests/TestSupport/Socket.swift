#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A failed socket system call, with the errno it left behind.
struct SocketError: Error, CustomStringConvertible {
    let operation: String
    let code: Int32
    /// For `sendAll`: how many bytes went out before the failure.
    var bytesSent = 0

    init(_ operation: String, code: Int32 = errno, bytesSent: Int = 0) {
        self.operation = operation
        self.code = code
        self.bytesSent = bytesSent
    }

    var description: String { "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))" }
}

/// The handful of POSIX socket calls the loopback server and client need, with the platform
/// differences (socket type constants, SIGPIPE suppression, sockaddr layout) kept in one place.
///
/// Every call here is blocking; the server gives each connection its own thread, so blocking
/// I/O keeps the code linear and easy to reason about in tests.
enum Socket {
    #if os(Linux)
    /// Linux suppresses SIGPIPE per call: a client that hangs up mid-body must produce EPIPE,
    /// not kill the whole test process.
    private static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    /// Darwin has no MSG_NOSIGNAL; SO_NOSIGPIPE is set on every socket instead.
    private static let sendFlags: Int32 = 0
    #endif

    #if canImport(Glibc)
    private static let streamType = Int32(SOCK_STREAM.rawValue)
    #else
    private static let streamType = Int32(SOCK_STREAM)
    #endif

    /// Opens a TCP socket bound to 127.0.0.1 on a kernel-chosen port and starts listening.
    static func makeLoopbackListener(backlog: Int32 = 128) throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, streamType, 0)
        guard fd >= 0 else { throw SocketError("socket") }
        do {
            // SO_REUSEADDR so that back-to-back test runs never trip over TIME_WAIT sockets.
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            try suppressSigpipe(fd)
            var address = loopbackAddress(port: 0)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else { throw SocketError("bind") }
            guard listen(fd, backlog) == 0 else { throw SocketError("listen") }
            return (fd, try localPort(fd))
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    /// Connects a blocking TCP socket to 127.0.0.1:port (used by `LoopbackTCPClient`).
    static func connectLoopback(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, streamType, 0)
        guard fd >= 0 else { throw SocketError("socket") }
        do {
            try suppressSigpipe(fd)
            var address = loopbackAddress(port: port)
            while true {
                let result = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                if result == 0 { return fd }
                if errno != EINTR { throw SocketError("connect") }
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    /// Reads the port the kernel assigned (we bind port 0 so parallel tests never collide).
    static func localPort(_ fd: Int32) throws -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw SocketError("getsockname") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Accepts one connection, retrying on EINTR. Returns nil when accept fails for any other
    /// reason (the caller re-checks whether the server is stopping).
    static func accept(_ listener: Int32) -> Int32? {
        while true {
            #if canImport(Glibc)
            let fd = Glibc.accept(listener, nil, nil)
            #elseif canImport(Musl)
            let fd = Musl.accept(listener, nil, nil)
            #else
            let fd = Darwin.accept(listener, nil, nil)
            #endif
            if fd >= 0 { return fd }
            if errno == EINTR || errno == ECONNABORTED { continue }
            return nil
        }
    }

    /// Options for a freshly accepted connection: no SIGPIPE, and no Nagle delay so that small
    /// progressive writes (NDJSON lines, chunk headers) reach the client when the test expects.
    static func configureConnection(_ fd: Int32) {
        try? suppressSigpipe(fd)
        try? setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    /// Sets SO_RCVTIMEO so a client-side read can never hang a test forever.
    static func setReceiveTimeout(_ fd: Int32, seconds: TimeInterval) throws {
        let whole = Int(seconds)
        var timeout = timeval()
        timeout.tv_sec = .init(whole)
        timeout.tv_usec = .init(Int((seconds - Double(whole)) * 1_000_000))
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw SocketError("setsockopt(SO_RCVTIMEO)")
        }
    }

    /// Writes every byte, looping over partial sends and EINTR. Throws on EPIPE/ECONNRESET etc.,
    /// with `bytesSent` saying how much had gone out.
    static func sendAll(_ fd: Int32, _ data: Data) throws {
        guard !data.isEmpty else { return }
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let sent = send(fd, base + offset, raw.count - offset, sendFlags)
                if sent > 0 {
                    offset += sent
                } else if sent < 0 && errno == EINTR {
                    continue
                } else {
                    throw SocketError("send", bytesSent: offset)
                }
            }
        }
    }

    /// Reads up to `maxBytes`. Returns an empty Data at end of stream; retries on EINTR.
    static func receive(_ fd: Int32, maxBytes: Int = 64 * 1024) throws -> Data {
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, maxBytes, 0) }
            if count >= 0 { return Data(buffer[0..<count]) }
            if errno == EINTR { continue }
            throw SocketError("recv")
        }
    }

    /// Blocks until one of `fds` is readable (or hung up). Returns the readable descriptors.
    static func waitReadable(_ fds: [Int32]) -> [Int32] {
        var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while true {
            let result = poll(&polls, nfds_t(polls.count), -1)
            if result > 0 { return polls.filter { $0.revents != 0 }.map(\.fd) }
            if result < 0 && errno == EINTR { continue }
            return []
        }
    }

    /// Shuts both directions down. This is what wakes a thread blocked in recv/send on the same
    /// descriptor; unlike close, it cannot race with the kernel reusing the descriptor number.
    static func shutdownBoth(_ fd: Int32) {
        _ = shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Closes a descriptor (named apart from `close` so the C function is never shadowed).
    static func closeDescriptor(_ fd: Int32) {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #elseif canImport(Musl)
        _ = Musl.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }

    /// A pipe used to wake the accept loop's poll() when the server stops.
    static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SocketError("pipe") }
        return (fds[0], fds[1])
    }

    /// Writes one byte to a pipe, ignoring failures (used only as a wake-up signal).
    static func poke(_ fd: Int32) {
        var byte: UInt8 = 1
        _ = write(fd, &byte, 1)
    }

    // MARK: - Private helpers

    private static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        #if canImport(Darwin)
        address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    private static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SocketError("setsockopt(\(name))")
        }
    }

    private static func suppressSigpipe(_ fd: Int32) throws {
        #if canImport(Darwin)
        try setOption(fd, SOL_SOCKET, SO_NOSIGPIPE, 1)
        #endif
    }
}
