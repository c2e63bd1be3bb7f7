import Foundation

/// The single writer of protocol output (stdout).
///
/// `send` frames nothing and blocks on nothing: it appends the body to a queue and returns, so
/// the input side keeps reading (cancellations must get through even when the client stops
/// reading stdout). A dedicated thread frames each body with the current framing and writes the
/// whole frame with write(2) loops (EINTR, short writes, EAGAIN via poll) before starting the
/// next, so frames are never interleaved and appear in submission order.
///
/// Framing may be unknown at first (auto-detection): bodies queue up and are written once
/// `setFraming` is called.
///
/// Memory policy: the queue holds whole bodies, bounded by `maxQueuedBytes` (64 MiB by default).
/// Progress-style notifications should pass a `coalescingKey` so a stale queued one is replaced
/// instead of piling up (see `OutgoingFrameQueue`). If the backlog still exceeds the cap, the
/// peer has not read for a very long time: it is treated as gone (`.stalled`), like EPIPE.
///
/// Peer gone (EPIPE, any other write error, or stalled): further output is dropped and
/// `onPeerGone` is called once, outside internal locks, from the writing thread (or from the
/// `send` that hit the cap). SIGPIPE is ignored process-wide by `init`, so a closed pipe surfaces
/// as EPIPE instead of killing the process.
public final class OutputWriter: Sendable {
    public enum PeerGoneReason: Sendable, Hashable {
        case writeFailed(errno: Int32)
        case stalled(queuedBytes: Int)
    }

    public static let defaultMaxQueuedBytes = 64 * 1024 * 1024

    private let core: OutputWriterCore

    public init(
        fd: Int32,
        framing: Framing? = nil,
        maxQueuedBytes: Int = OutputWriter.defaultMaxQueuedBytes,
        onPeerGone: (@Sendable (PeerGoneReason) -> Void)? = nil
    ) {
        StdoutGuard.ignoreBrokenPipeSignal()
        core = OutputWriterCore(fd: fd, framing: framing, maxQueuedBytes: maxQueuedBytes, onPeerGone: onPeerGone)
        let thread = Thread { [core] in core.runWriteLoop() }
        thread.name = "modelpull.stdout"
        thread.start()
    }

    /// Lets the thread finish what is queued, then exit.
    deinit {
        core.close()
    }

    /// The framing used for output; nil until set.
    public var framing: Framing? { core.withLock { $0.framing } }

    /// True once output is being dropped (EPIPE, write error, stalled peer).
    public var isPeerGone: Bool { core.withLock { $0.goneReason != nil } }

    /// Bytes of message bodies queued and not yet being written.
    public var queuedByteCount: Int { core.withLock { $0.queue.byteCount } }

    /// Fixes the framing (the first call wins; framing never changes mid-session) and starts
    /// writing anything queued meanwhile.
    public func setFraming(_ framing: Framing) {
        core.withLock { state in
            if state.framing == nil { state.framing = framing }
        }
    }

    /// Installs the peer-gone handler; if the peer is already gone it is called right away.
    public func setOnPeerGone(_ handler: @escaping @Sendable (PeerGoneReason) -> Void) {
        let pending: (() -> Void)? = core.withLock { state in
            state.onPeerGone = handler
            return state.takePeerGoneNotification()
        }
        pending?()
    }

    /// Queues one message body (no framing, no trailing newline) and returns at once.
    /// With a `coalescingKey`, replaces a still-queued body sent with the same key.
    public func send(_ body: [UInt8], coalescingKey: String? = nil) {
        core.enqueue(body, coalescingKey: coalescingKey)
    }

    /// Serializes `message` compactly and queues it.
    public func send(_ message: JSONValue, coalescingKey: String? = nil) {
        core.enqueue(JSONWriter().encode(message), coalescingKey: coalescingKey)
    }

    /// Blocks until everything queued so far is written, the peer is gone, or `timeout`
    /// passes. Returns true only if everything was written.
    @discardableResult
    public func flush(timeout: TimeInterval) -> Bool {
        core.waitUntilDrained(deadline: Date(timeIntervalSinceNow: max(0, timeout)))
    }

    /// Blocks until everything queued is written or the peer is gone. Never returns while the
    /// framing is unknown and output is queued, so prefer `flush(timeout:)` at exit.
    @discardableResult
    public func flush() -> Bool {
        core.waitUntilDrained(deadline: nil)
    }

    /// Stops accepting output; the thread writes what is queued and exits.
    public func close() {
        core.close()
    }
}

/// Mutable state shared by `send` callers and the writing thread, guarded by one condition.
fileprivate struct OutputWriterState {
    var framing: Framing?
    var queue = OutgoingFrameQueue()
    var isWriting = false
    var isClosed = false
    var goneReason: OutputWriter.PeerGoneReason?
    var onPeerGone: (@Sendable (OutputWriter.PeerGoneReason) -> Void)?
    var notifiedPeerGone = false

    /// Records the first reason the peer is gone and drops queued output.
    mutating func markPeerGone(_ reason: OutputWriter.PeerGoneReason) {
        guard goneReason == nil else { return }
        goneReason = reason
        queue.removeAll()
    }

    /// The once-only notification to run after unlocking, if it is due.
    mutating func takePeerGoneNotification() -> (() -> Void)? {
        guard let reason = goneReason, !notifiedPeerGone, let handler = onPeerGone else { return nil }
        notifiedPeerGone = true
        return { handler(reason) }
    }
}

private final class OutputWriterCore: @unchecked Sendable {
    private let fd: Int32
    private let maxQueuedBytes: Int
    private let condition = NSCondition()
    private var state: OutputWriterState  // guarded by condition

    init(fd: Int32, framing: Framing?, maxQueuedBytes: Int, onPeerGone: (@Sendable (OutputWriter.PeerGoneReason) -> Void)?) {
        self.fd = fd
        self.maxQueuedBytes = maxQueuedBytes
        state = OutputWriterState(framing: framing, onPeerGone: onPeerGone)
    }

    /// Runs `body` under the lock and wakes every waiter: the writing thread and any flushers
    /// share one condition, so a single `signal` could wake the wrong one.
    func withLock<T>(_ body: (inout OutputWriterState) -> T) -> T {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return body(&state)
    }

    func enqueue(_ body: [UInt8], coalescingKey: String?) {
        let notification: (() -> Void)? = withLock { state in
            guard state.goneReason == nil, !state.isClosed else { return nil }
            let projected = state.queue.byteCount + state.queue.byteDelta(for: body, coalescingKey: coalescingKey)
            // A single large body on an empty queue is always accepted: only a backlog stalls.
            if projected > maxQueuedBytes && !state.queue.isEmpty {
                state.markPeerGone(.stalled(queuedBytes: state.queue.byteCount))
                return state.takePeerGoneNotification()
            }
            state.queue.enqueue(body, coalescingKey: coalescingKey)
            return nil
        }
        notification?()
    }

    func close() {
        withLock { $0.isClosed = true }
    }

    func waitUntilDrained(deadline: Date?) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while state.goneReason == nil && (!state.queue.isEmpty || state.isWriting) {
            if let deadline {
                if !condition.wait(until: deadline) { break }
            } else {
                condition.wait()
            }
        }
        return state.goneReason == nil && state.queue.isEmpty && !state.isWriting
    }

    /// The writing thread's body: one whole frame at a time, in queue order.
    func runWriteLoop() {
        condition.lock()
        while true {
            while !state.isClosed && state.goneReason == nil && (state.framing == nil || state.queue.isEmpty) {
                condition.wait()
            }
            guard state.goneReason == nil, let framing = state.framing, let body = state.queue.popFirst() else {
                // Closed with nothing writable left (or the peer is gone): the thread is done.
                condition.broadcast()
                condition.unlock()
                return
            }
            state.isWriting = true
            condition.unlock()

            let failure = FileDescriptorIO.writeAll(fd, FrameEncoder.encode(body, as: framing))

            condition.lock()
            state.isWriting = false
            var notification: (() -> Void)?
            if let failure {
                state.markPeerGone(.writeFailed(errno: failure))
                notification = state.takePeerGoneNotification()
            }
            condition.broadcast()
            if let notification {
                condition.unlock()
                notification()
                condition.lock()
            }
        }
    }
}
