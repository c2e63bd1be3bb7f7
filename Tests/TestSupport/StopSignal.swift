import Foundation

/// A one-way "the server is stopping" flag with an interruptible sleep.
///
/// Stalls, rate limiting, chunk delays and slow streams all sleep on a server thread; sleeping
/// here instead of `Thread.sleep` lets `stop()` end those sleeps at once, so a test that stops
/// its server mid-stall does not leave a thread sleeping for the rest of the run.
final class StopSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false

    var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    /// Sets the flag. Returns true only for the first call, so stop work runs once.
    @discardableResult
    func stop() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { return false }
        stopped = true
        condition.broadcast()
        return true
    }

    /// Sleeps for `seconds`. Returns false (early) if the server stopped, true otherwise.
    func sleep(_ seconds: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: max(0, seconds))
        condition.lock()
        defer { condition.unlock() }
        while !stopped {
            if !condition.wait(until: deadline) { return true }
        }
        return false
    }
}
