import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The URLSession engine's half of the timing rules for file bodies that libcurl's event loop
/// applies to its exchanges (`CurlExchange.expiry`): a head must arrive whole within
/// `FileBodyHead.deadline` of the request (or of the redirect hop), and the body must keep above
/// `ThroughputFloor`. URLSession's own `timeoutInterval` restarts with every header line and
/// every byte, so neither a head sent a line at a time nor a body dripping a byte at a time
/// would ever end.
///
/// As on libcurl, only time spent waiting on the network counts against the floor: the time the
/// lane's delegate queue spent in consumers (`ConsumerClock`), this task's or another's on the
/// same lane, is subtracted, so a slow disk is never taken for a slow server.
final class FileBodyWatch: Sendable {
    private let deadline: TimeInterval
    private let clock: ConsumerClock
    private let task: UncheckedBox<URLSessionDataTask>
    private struct State {
        var timer: DispatchWorkItem?
        /// Answers true when the head was still missing and the task is to end.
        var onHeadExpired: (@Sendable (TransferError) -> Bool)?
        var floor: ThroughputFloor
        var lastLook: (wall: Double, busy: Double)?
    }
    private let state: LockedValue<State>

    init(request: HTTPRequest, clock: ConsumerClock, task: UncheckedBox<URLSessionDataTask>) {
        deadline = FileBodyHead.deadline(for: request)
        state = LockedValue(State(floor: ThroughputFloor(window: request.idleTimeout)))
        self.clock = clock
        self.task = task
    }

    /// The request went out: starts the head's deadline.
    func start(onHeadExpired: @escaping @Sendable (TransferError) -> Bool) {
        state.withLock { $0.onHeadExpired = onHeadExpired }
        armHeadDeadline()
    }

    /// A redirect is followed: the next hop's head gets a deadline of its own, as on libcurl.
    func armHeadDeadline() {
        let expiry = TransferError.headTimedOut(seconds: deadline)
        let item = DispatchWorkItem { [weak self] in
            guard let self, let ends = self.state.current.onHeadExpired, ends(expiry) else { return }
            self.task.value.cancel()
        }
        state.withLock { state in
            state.timer?.cancel()
            state.timer = item
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + deadline, execute: item)
    }

    /// The head arrived: its deadline is over, the floor's clock starts.
    func headArrived() {
        let now = (monotonicSeconds(), clock.busySeconds)
        state.withLock { state in
            state.timer?.cancel()
            state.timer = nil
            state.lastLook = now
        }
    }

    /// Body bytes arrived: the failure when a whole window of network time passed below the floor.
    func received(_ count: Int) -> TransferError? {
        let now = (wall: monotonicSeconds(), busy: clock.busySeconds)
        return state.withLock { state in
            let last = state.lastLook ?? now
            state.lastLook = now
            state.floor.received(count)
            return state.floor.waited(max(0, (now.wall - last.wall) - (now.busy - last.busy)))
        }
    }

    /// Runs a consumer on the lane's clock.
    func measure<T>(_ consume: () throws -> T) rethrows -> T { try clock.measure(consume) }

    /// The task completed.
    func end() {
        state.withLock { state in
            state.timer?.cancel()
            state.timer = nil
            state.onHeadExpired = nil
        }
    }
}

/// Seconds one URLSession lane's delegate queue spent in consumers (writing bodies to disk):
/// time in which no task of the lane could hear from the network, whatever the server did.
final class ConsumerClock: Sendable {
    private let busy = LockedValue(0.0)

    var busySeconds: Double { busy.current }

    func measure<T>(_ consume: () throws -> T) rethrows -> T {
        let start = monotonicSeconds()
        defer {
            let spent = monotonicSeconds() - start
            busy.withLock { $0 += spent }
        }
        return try consume()
    }
}
