import Foundation

/// The connections every transfer in the process shares: each file request holds one slot while
/// its bytes flow, so concurrent files and downloads split the budget instead of multiplying it.
/// A slot is taken per request (not per file), so a download that arrives later gets its share
/// as soon as requests end.
///
/// Shared fairly between downloads (`Owner`, set per job by the engine): a freed slot goes to the
/// waiting download that holds the fewest, and a download holding more than its share while
/// another waits is asked to give slots back (`shouldYield`) — parallel pieces end their request
/// at the next bytes and queue again. Without that, a server dripping a byte a second keeps every
/// connection of two downloads open until the throughput floor ends them, and a third, fast
/// download waits at 0 bytes meanwhile.
///
/// With each request bounded in size, the budget also bounds memory: even URLSession (the
/// fallback engine) cannot buffer more than `capacity` × the request size however slow the disk.
public final class ConnectionBudget: Sendable {
    /// Two files' worth of 16. Measured on the benchmark machine (Benchmarks/RESULTS.md), three
    /// 256 MiB files from a CDN that throttles each connection to 20 MB/s: 2.76 s with a budget
    /// of 16, 1.37–1.43 s with 32, peak RSS 54 MB; unthrottled, more connections cost little
    /// CPU over libcurl.
    public static let defaultCapacity = 32

    /// Who a slot is for: one download (all its files and connections). Requests made outside a
    /// download (tests, tools) share the anonymous owner.
    public struct Owner: Hashable, Sendable {
        let id: String
        public init(_ id: String) { self.id = id }
        static let anonymous = Owner("")
    }

    /// The owner of the requests the current task makes; the engine binds it around a job.
    @TaskLocal public static var owner = Owner.anonymous

    public let capacity: Int
    private struct State {
        var available: Int
        /// Only waiters whose continuation is stored are queued, so `release` can always resume one.
        var waiters: [Waiter] = []
        /// Slots held per owner (owners holding none are absent).
        var held: [Owner: Int] = [:]
    }
    private let state: LockedValue<State>

    /// A task waiting for a slot; its fields change only under the budget's lock.
    private final class Waiter: @unchecked Sendable {
        let owner: Owner
        var continuation: CheckedContinuation<Void, any Error>?
        var cancelled = false
        init(owner: Owner) { self.owner = owner }
    }

    public convenience init(capacity: Int = ConnectionBudget.defaultCapacity) {
        self.init(capacity: capacity, available: capacity)
    }

    /// A budget whose slots are handed out later by `release` (a gate that opens bit by bit).
    init(capacity: Int, available: Int) {
        self.capacity = max(1, capacity)
        state = LockedValue(State(available: min(max(0, available), self.capacity)))
    }

    /// Takes a slot for `owner`, waiting for one if all are in use. Throws `CancellationError` if
    /// the task is cancelled while waiting, and then holds nothing. Once it returns, the caller
    /// must `release` with the same owner.
    public func acquire(for owner: Owner = ConnectionBudget.owner) async throws {
        if tryAcquire(for: owner) { return }
        let waiter = Waiter(owner: owner)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case cancelled, granted, queued }
                let now = state.withLock { state -> Now in
                    if waiter.cancelled { return .cancelled }
                    if state.available > 0, state.waiters.isEmpty {
                        // A slot came back between the fast path and here.
                        state.available -= 1
                        state.held[owner, default: 0] += 1
                        return .granted
                    }
                    waiter.continuation = continuation
                    state.waiters.append(waiter)
                    return .queued
                }
                switch now {
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .granted: continuation.resume()
                case .queued: break
                }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                waiter.cancelled = true
                guard let index = state.waiters.firstIndex(where: { $0 === waiter }) else { return nil }
                state.waiters.remove(at: index)
                defer { waiter.continuation = nil }
                return waiter.continuation
            }
            // Not queued any more means `release` already handed it a slot: acquire returns
            // normally and the caller releases it like any other.
            continuation?.resume(throwing: CancellationError())
        }
    }

    private func tryAcquire(for owner: Owner) -> Bool {
        state.withLock { state in
            guard state.available > 0, state.waiters.isEmpty else { return false }
            state.available -= 1
            state.held[owner, default: 0] += 1
            return true
        }
    }

    /// Returns `owner`'s slot, handing it straight to a waiter if there is one: the longest
    /// waiting of those whose download holds the fewest slots.
    public func release(for owner: Owner = ConnectionBudget.owner) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            let left = (state.held[owner] ?? 1) - 1
            state.held[owner] = left > 0 ? left : nil
            guard !state.waiters.isEmpty else {
                state.available = min(capacity, state.available + 1)
                return nil
            }
            var chosen = 0
            for index in state.waiters.indices.dropFirst()
            where (state.held[state.waiters[index].owner] ?? 0) < (state.held[state.waiters[chosen].owner] ?? 0) {
                chosen = index
            }
            let waiter = state.waiters.remove(at: chosen)
            state.held[waiter.owner, default: 0] += 1
            defer { waiter.continuation = nil }
            return waiter.continuation
        }
        continuation?.resume()
    }

    /// Whether `owner` should give a slot back now: another download is waiting that holds at
    /// least two fewer (handing one over makes the split fairer; a difference of one is as fair
    /// as it gets, so slots never bounce between two downloads).
    public func shouldYield(_ owner: Owner) -> Bool {
        return state.withLock { state in
            guard !state.waiters.isEmpty, let mine = state.held[owner] else { return false }
            return state.waiters.contains { $0.owner != owner && (state.held[$0.owner] ?? 0) + 1 < mine }
        }
    }

    /// Slots free right now (for logs and tests).
    public var freeSlots: Int { state.current.available }

    /// Tasks waiting for a slot right now (for tests).
    var waitingCount: Int { state.current.waiters.count }

    /// Slots `owner` holds right now (for tests).
    func slots(heldBy owner: Owner) -> Int { state.current.held[owner] ?? 0 }
}
