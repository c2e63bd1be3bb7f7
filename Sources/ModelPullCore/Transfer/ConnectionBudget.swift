import Foundation

/// The connections every transfer in the process shares: each file request holds one slot while
/// its bytes flow, so concurrent files and downloads split the budget instead of multiplying it.
/// Waiters are served first come, first served, and a slot is taken per request (not per file),
/// so a download that arrives later gets its share as soon as the next request ends.
///
/// With each request bounded in size, the budget also bounds memory: even URLSession (the
/// fallback engine) cannot buffer more than `capacity` × the request size however slow the disk.
public final class ConnectionBudget: @unchecked Sendable {
    /// Two files' worth of 16. Measured on the benchmark machine (Benchmarks/RESULTS.md), three
    /// 256 MiB files from a CDN that throttles each connection to 20 MB/s: 2.76 s with a budget
    /// of 16, 1.37–1.43 s with 32, peak RSS 54 MB; unthrottled, more connections cost little
    /// CPU over libcurl.
    public static let defaultCapacity = 32

    public let capacity: Int
    private let lock = NSLock()
    private var available: Int
    /// Only waiters whose continuation is stored are queued, so `release` can always resume one.
    private var waiters: [Waiter] = []

    private final class Waiter: @unchecked Sendable {
        var continuation: CheckedContinuation<Void, any Error>?
        var cancelled = false
    }

    public convenience init(capacity: Int = ConnectionBudget.defaultCapacity) {
        self.init(capacity: capacity, available: capacity)
    }

    /// A budget whose slots are handed out later by `release` (a gate that opens bit by bit).
    init(capacity: Int, available: Int) {
        self.capacity = max(1, capacity)
        self.available = min(max(0, available), self.capacity)
    }

    /// Takes a slot, waiting for one if all are in use. Throws `CancellationError` if the task is
    /// cancelled while waiting, and then holds nothing. Once it returns, the caller must `release`.
    public func acquire() async throws {
        if tryAcquire() { return }
        let waiter = Waiter()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                lock.lock()
                if waiter.cancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else if available > 0, waiters.isEmpty {
                    // A slot came back between the fast path and here.
                    available -= 1
                    lock.unlock()
                    continuation.resume()
                } else {
                    waiter.continuation = continuation
                    waiters.append(waiter)
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            waiter.cancelled = true
            var continuation: CheckedContinuation<Void, any Error>?
            if let index = waiters.firstIndex(where: { $0 === waiter }) {
                waiters.remove(at: index)
                continuation = waiter.continuation
                waiter.continuation = nil
            }
            lock.unlock()
            // Not queued any more means `release` already handed it a slot: acquire returns
            // normally and the caller releases it like any other.
            continuation?.resume(throwing: CancellationError())
        }
    }

    private func tryAcquire() -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard available > 0, waiters.isEmpty else { return false }
        available -= 1
        return true
    }

    /// Returns a slot, handing it straight to the longest waiter if there is one.
    public func release() {
        lock.lock()
        guard !waiters.isEmpty else {
            available = min(capacity, available + 1)
            lock.unlock()
            return
        }
        let waiter = waiters.removeFirst()
        let continuation = waiter.continuation
        waiter.continuation = nil
        lock.unlock()
        continuation?.resume()
    }

    /// Slots free right now (for logs and tests).
    public var freeSlots: Int { lock.locked { available } }

    /// Tasks waiting for a slot right now (for tests).
    var waitingCount: Int { lock.locked { waiters.count } }
}
