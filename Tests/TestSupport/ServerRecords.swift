import Foundation

/// Every request the server has read, in arrival order. Connection threads append; tests read
/// snapshots, and can block until a number of requests has arrived.
final class RequestLog: @unchecked Sendable {
    private let condition = NSCondition()
    private var entries: [HTTPRequest] = []

    func append(_ request: HTTPRequest) {
        condition.lock()
        entries.append(request)
        condition.broadcast()
        condition.unlock()
    }

    var all: [HTTPRequest] {
        condition.lock()
        defer { condition.unlock() }
        return entries
    }

    func removeAll() {
        condition.lock()
        entries.removeAll()
        condition.unlock()
    }

    /// Waits until at least `count` requests are logged. Returns false on timeout.
    func wait(forCount count: Int, timeout: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while entries.count < count {
            if !condition.wait(until: deadline) { return entries.count >= count }
        }
        return true
    }
}

/// Response body bytes handed to the kernel, in total and per request path. Headers and chunk
/// framing are not counted, so the numbers line up with `Content-Length`. `BodyChannel` counts
/// just before each send (and takes back what a failed send did not deliver), so the counters
/// are already up to date when a client finishes reading.
final class ByteCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    private var perPath: [String: Int] = [:]

    func add(_ count: Int, path: String) {
        lock.lock()
        total += count
        perPath[path, default: 0] += count
        lock.unlock()
    }

    var totalSent: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }

    var byPath: [String: Int] {
        lock.lock()
        defer { lock.unlock() }
        return perPath
    }

    func reset() {
        lock.lock()
        total = 0
        perPath.removeAll()
        lock.unlock()
    }
}

/// The open connections, so `stop()` can shut them all down.
///
/// Only a connection's own thread closes its descriptor, and it does so under this lock; `stop()`
/// shuts descriptors down under the same lock. That way `stop()` can never touch a descriptor
/// number the kernel has already handed to something else.
final class ConnectionRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var open: [Int: Int32] = [:]
    private var accepted = 0
    private var closedForGood = false
    private let finished = DispatchGroup()

    /// Registers a new connection and returns its index, or nil if the server is stopping (the
    /// caller then closes the descriptor itself).
    func register(_ fd: Int32) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard !closedForGood else { return nil }
        let index = accepted
        accepted += 1
        open[index] = fd
        finished.enter()
        return index
    }

    /// Called by the connection's thread when it is done: closes the descriptor.
    func close(_ index: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard let fd = open.removeValue(forKey: index) else { return }
        Socket.shutdownBoth(fd)
        Socket.closeDescriptor(fd)
        finished.leave()
    }

    /// Refuses new connections and shuts every open one down, which wakes their threads.
    func shutdownAll() {
        lock.lock()
        closedForGood = true
        for fd in open.values { Socket.shutdownBoth(fd) }
        lock.unlock()
    }

    /// Waits for connection threads to finish. Bounded, because a handler may be busy in code
    /// we cannot interrupt (a plain `Thread.sleep` in a test's stream closure).
    func waitForAll(timeout: TimeInterval) {
        _ = finished.wait(timeout: .now() + timeout)
    }

    var openCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return open.count
    }

    var acceptedCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return accepted
    }
}
