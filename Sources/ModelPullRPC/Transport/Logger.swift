import Foundation
import ModelPullCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension LogLevel {
    /// Fixed-width tag for log lines.
    var tag: String {
        switch self {
        case .off: return "OFF  "
        case .error: return "ERROR"
        case .warning: return "WARN "
        case .info: return "INFO "
        case .debug: return "DEBUG"
        case .trace: return "TRACE"
        }
    }

}

/// Line-oriented logger to stderr (or any descriptor) that never blocks its callers.
///
/// Lines look like `2025-01-02T03:04:05.678Z WARN  message`, one per entry: newlines inside a
/// message are written as `\n`, and a message longer than `maxLineBytes` is cut. Secrets never
/// reach it: jobs scrub what they report (`JobProgress`), and nothing logs a request's token.
///
/// A dedicated thread writes queued lines. If stderr is not drained (a parent that never reads
/// it), the queue fills to `maxQueuedLines` and further lines are dropped and counted; a
/// "N log lines dropped" line is written once the descriptor accepts data again.
public final class Logger: Sendable {
    public static let defaultMaxQueuedLines = 1024
    public static let defaultMaxLineBytes = 16 * 1024

    private let core: LoggerCore

    public init(
        level: LogLevel = .info,
        fd: Int32 = STDERR_FILENO,
        maxQueuedLines: Int = Logger.defaultMaxQueuedLines,
        maxLineBytes: Int = Logger.defaultMaxLineBytes
    ) {
        core = LoggerCore(fd: fd, level: level, maxQueuedLines: max(1, maxQueuedLines), maxLineBytes: max(64, maxLineBytes))
    }

    deinit {
        core.close()
    }

    /// The threshold; may be changed at any time (e.g. by a `setLogLevel` request).
    public var level: LogLevel {
        get { core.withLock { $0.level } }
        set { core.withLock { $0.level = newValue } }
    }

    /// Logs `message` (evaluated only when `level` is enabled).
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level != .off, level <= self.level else { return }
        core.enqueue(formatLine(level: level, message: message()))
    }

    /// Waits until queued lines are written (or the descriptor failed). False on timeout.
    @discardableResult
    public func flush(timeout: TimeInterval) -> Bool {
        core.waitUntilDrained(deadline: Date(timeIntervalSinceNow: max(0, timeout)))
    }

    private func formatLine(level: LogLevel, message: String) -> [UInt8] {
        var line = Array(Self.timestamp().utf8)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: level.tag.utf8)
        line.append(UInt8(ascii: " "))
        var kept = Array(message.utf8)
        let fullLength = kept.count
        if fullLength > core.maxLineBytes {
            // Cut at a character boundary: back up over UTF-8 continuation bytes.
            var cut = core.maxLineBytes
            while cut > 0 && kept[cut] & 0xC0 == 0x80 { cut -= 1 }
            kept.removeSubrange(cut...)
        }
        for byte in kept {
            switch byte {
            case UInt8(ascii: "\n"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: line.append(byte)
            }
        }
        if kept.count < fullLength {
            line.append(contentsOf: " [... truncated, \(fullLength) bytes in all]".utf8)
        }
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// UTC, millisecond precision, ISO 8601: `2025-01-02T03:04:05.678Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(Int(parts.tm_year) + 1900, 4))-\(padded(Int(parts.tm_mon) + 1, 2))-\(padded(Int(parts.tm_mday), 2))"
            + "T\(padded(Int(parts.tm_hour), 2)):\(padded(Int(parts.tm_min), 2)):\(padded(Int(parts.tm_sec), 2))"
            + ".\(padded(Int(now.tv_nsec) / 1_000_000, 3))Z"
    }
}

extension Logger {
    /// A `LogSink` for ModelPullCore (the engine logs through it): lines get this logger's
    /// level filter, redaction and non-blocking queue.
    public var sink: LogSink {
        LogSink { [self] level, message in log(level, message) }
    }
}

/// Shared state of a `Logger` and its writing thread.
fileprivate struct LoggerState {
    var level: LogLevel
    var lines: [[UInt8]] = []
    var droppedSinceLastWrite = 0
    var isWriting = false
    var isClosed = false
    var isBroken = false
    var threadStarted = false
}

private final class LoggerCore: @unchecked Sendable {
    let fd: Int32
    let maxQueuedLines: Int
    let maxLineBytes: Int
    private let condition = NSCondition()
    private var state: LoggerState  // guarded by condition

    init(fd: Int32, level: LogLevel, maxQueuedLines: Int, maxLineBytes: Int) {
        self.fd = fd
        self.maxQueuedLines = maxQueuedLines
        self.maxLineBytes = maxLineBytes
        state = LoggerState(level: level)
    }

    func withLock<T>(_ body: (inout LoggerState) -> T) -> T {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return body(&state)
    }

    func enqueue(_ line: [UInt8]) {
        let mustStartThread: Bool = withLock { state in
            guard !state.isClosed, !state.isBroken else { return false }
            guard state.lines.count < maxQueuedLines else {
                state.droppedSinceLastWrite += 1
                return false
            }
            state.lines.append(line)
            defer { state.threadStarted = true }
            return !state.threadStarted
        }
        if mustStartThread {
            // Started on first use so a disabled logger costs no thread.
            let thread = Thread { [self] in runWriteLoop() }
            thread.name = "modelpull.log"
            thread.start()
        }
    }

    func close() {
        withLock { $0.isClosed = true }
    }

    func waitUntilDrained(deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        func drained() -> Bool {
            state.isBroken || (state.lines.isEmpty && state.droppedSinceLastWrite == 0 && !state.isWriting)
        }
        while !drained() {
            if !condition.wait(until: deadline) { break }
        }
        return drained()
    }

    private func runWriteLoop() {
        condition.lock()
        while true {
            while state.lines.isEmpty && state.droppedSinceLastWrite == 0 && !state.isClosed {
                condition.wait()
            }
            if state.lines.isEmpty && state.droppedSinceLastWrite == 0 {
                condition.unlock()
                return  // closed and drained
            }
            // Everything queued predates the drops counted now (drops only happen while the
            // queue is full), so the drop notice goes after the batch.
            var batch = Array(state.lines.joined())
            if state.droppedSinceLastWrite > 0 {
                let notice = "\(Logger.timestamp()) WARN  \(state.droppedSinceLastWrite) log lines dropped (stderr not drained)\n"
                batch.append(contentsOf: notice.utf8)
            }
            state.lines.removeAll(keepingCapacity: true)
            state.droppedSinceLastWrite = 0
            state.isWriting = true
            condition.unlock()

            let failure = FileDescriptorIO.writeAll(fd, batch)

            condition.lock()
            state.isWriting = false
            if failure != nil {
                // Nowhere left to report to: stop logging altogether.
                state.isBroken = true
                state.lines.removeAll()
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.broadcast()
        }
    }
}
