#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Blocking read/write on raw file descriptors with the retries every caller needs:
/// EINTR is retried, EAGAIN (an O_NONBLOCK flag inherited from the parent, which we never set
/// nor clear because the descriptor is shared) waits with poll(2), short writes continue.
enum FileDescriptorIO {
    enum ReadOutcome: Equatable {
        case bytes(Int)
        case endOfFile
        case failed(errno: Int32)
    }

    /// One read(2) of at most `buffer.count` bytes.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> ReadOutcome {
        while true {
            #if canImport(Darwin)
            let result = Darwin.read(fd, buffer.baseAddress, buffer.count)
            #elseif canImport(Musl)
            let result = Musl.read(fd, buffer.baseAddress, buffer.count)
            #else
            let result = Glibc.read(fd, buffer.baseAddress, buffer.count)
            #endif
            if result > 0 { return .bytes(result) }
            if result == 0 { return .endOfFile }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                if let failure = waitUntilReady(fd, for: Int16(POLLIN)) { return .failed(errno: failure) }
            default:
                return .failed(errno: code)
            }
        }
    }

    /// Writes every byte or returns the errno that stopped it (EPIPE when the reader left).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        guard var cursor = bytes.baseAddress else { return nil }
        var remaining = bytes.count
        while remaining > 0 {
            #if canImport(Darwin)
            let result = Darwin.write(fd, cursor, remaining)
            #elseif canImport(Musl)
            let result = Musl.write(fd, cursor, remaining)
            #else
            let result = Glibc.write(fd, cursor, remaining)
            #endif
            if result > 0 {
                cursor += result
                remaining -= result
                continue
            }
            let code = result == 0 ? EAGAIN : errno
            switch code {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                if let failure = waitUntilReady(fd, for: Int16(POLLOUT)) { return failure }
            default:
                return code
            }
        }
        return nil
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    /// Blocks until `fd` is readable/writable (or hung up, which the next call then reports).
    /// Returns an errno only when poll(2) itself fails for a reason other than EINTR.
    private static func waitUntilReady(_ fd: Int32, for events: Int16) -> Int32? {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let result = poll(&descriptor, 1, -1)
            if result >= 0 { return nil }
            let code = errno
            if code != EINTR && code != EAGAIN { return code }
        }
    }
}
