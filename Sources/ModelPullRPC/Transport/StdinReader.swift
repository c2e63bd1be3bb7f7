import Foundation
import ModelPullCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the protocol input on a dedicated thread and turns it into framer events.
///
/// A blocking read(2) loop on its own `Thread` (not the cooperative pool, which must never be
/// parked in a syscall) with 64 KiB chunks. EINTR is retried; an O_NONBLOCK flag inherited on
/// the descriptor is respected (EAGAIN waits in poll(2)) and never changed, since the open file
/// description is shared with the parent.
///
/// Callbacks run on the reader thread, in input order, one at a time:
/// `onFramingDetected` once (before the first event; at `start()` for a fixed framing),
/// `onEvent` per framer event, then `onEnd` exactly once at end of input or on a read error
/// (after the events still decodable from the buffered bytes). Callbacks should hand work off
/// quickly: while they run, nothing is read.
public final class StdinReader: @unchecked Sendable {
    public enum End: Sendable, Hashable {
        case endOfInput
        case readError(errno: Int32)
    }

    public static let defaultChunkSize = 64 * 1024

    private let fd: Int32
    private let framing: FramingChoice
    private let maxMessageBytes: Int
    private let chunkSize: Int
    private let onFramingDetected: @Sendable (Framing) -> Void
    private let onEvent: @Sendable (FramerEvent) -> Void
    private let onEnd: @Sendable (End) -> Void
    private let started = LockedValue(false)

    public init(
        fd: Int32 = STDIN_FILENO,
        framing: FramingChoice = .auto,
        maxMessageBytes: Int = MessageFramer.defaultMaxMessageBytes,
        chunkSize: Int = StdinReader.defaultChunkSize,
        onFramingDetected: @escaping @Sendable (Framing) -> Void = { _ in },
        onEvent: @escaping @Sendable (FramerEvent) -> Void,
        onEnd: @escaping @Sendable (End) -> Void
    ) {
        self.fd = fd
        self.framing = framing
        self.maxMessageBytes = maxMessageBytes
        self.chunkSize = max(1, chunkSize)
        self.onFramingDetected = onFramingDetected
        self.onEvent = onEvent
        self.onEnd = onEnd
    }

    /// Starts the reader thread. Later calls do nothing. The thread ends with the input; a
    /// blocked read(2) cannot be interrupted portably, so there is no `stop()`: the process
    /// exiting (or the peer closing stdin) ends it.
    public func start() {
        let first = started.withLock { started in
            defer { started = true }
            return !started
        }
        guard first else { return }
        let thread = Thread { [self] in self.run() }
        thread.name = "modelpull.stdin"
        thread.start()
    }

    private func run() {
        var framer = MessageFramer(choice: framing, maxMessageBytes: maxMessageBytes)
        var reportedFraming = false
        var chunk = [UInt8](repeating: 0, count: chunkSize)

        // Delivers every event the framer can produce now; reports the framing first.
        func drain() {
            while true {
                let event = framer.nextEvent()
                if !reportedFraming, let mode = framer.mode {
                    reportedFraming = true
                    onFramingDetected(mode)
                }
                guard let event else { return }
                onEvent(event)
            }
        }

        drain()  // a fixed framing is known before any byte arrives
        while true {
            let outcome = chunk.withUnsafeMutableBytes { FileDescriptorIO.read(fd, into: $0) }
            switch outcome {
            case .bytes(let count):
                framer.append(chunk[0..<count])
                drain()
            case .endOfFile:
                framer.finish()
                drain()
                onEnd(.endOfInput)
                return
            case .failed(let code):
                framer.finish()
                drain()
                onEnd(.readError(errno: code))
                return
            }
        }
    }
}
