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
final class FileBodyWatch: @unchecked Sendable {
    private let lock = NSLock()
    private let deadline: TimeInterval
    private let clock: ConsumerClock
    private let task: UncheckedBox<URLSessionDataTask>
    private var timer: DispatchWorkItem?
    /// Answers true when the head was still missing and the task is to end.
    private var onHeadExpired: (@Sendable (TransferError) -> Bool)?
    private var floor: ThroughputFloor
    private var lastLook: (wall: Double, busy: Double)?

    init(request: HTTPRequest, clock: ConsumerClock, task: UncheckedBox<URLSessionDataTask>) {
        deadline = FileBodyHead.deadline(for: request)
        floor = ThroughputFloor(window: request.idleTimeout)
        self.clock = clock
        self.task = task
    }

    /// The request went out: starts the head's deadline.
    func start(onHeadExpired: @escaping @Sendable (TransferError) -> Bool) {
        lock.locked { self.onHeadExpired = onHeadExpired }
        armHeadDeadline()
    }

    /// A redirect is followed: the next hop's head gets a deadline of its own, as on libcurl.
    func armHeadDeadline() {
        let expiry = TransferError.headTimedOut(seconds: deadline)
        let item = DispatchWorkItem { [weak self] in
            guard let self, let ends = self.lock.locked({ self.onHeadExpired }), ends(expiry) else { return }
            self.task.value.cancel()
        }
        lock.locked {
            timer?.cancel()
            timer = item
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + deadline, execute: item)
    }

    /// The head arrived: its deadline is over, the floor's clock starts.
    func headArrived() {
        let now = (monotonicSeconds(), clock.busySeconds)
        lock.locked {
            timer?.cancel()
            timer = nil
            lastLook = now
        }
    }

    /// Body bytes arrived: the failure when a whole window of network time passed below the floor.
    func received(_ count: Int) -> TransferError? {
        let now = (wall: monotonicSeconds(), busy: clock.busySeconds)
        return lock.locked {
            let last = lastLook ?? now
            lastLook = now
            floor.received(count)
            return floor.waited(max(0, (now.wall - last.wall) - (now.busy - last.busy)))
        }
    }

    /// Runs a consumer on the lane's clock.
    func measure<T>(_ consume: () throws -> T) rethrows -> T { try clock.measure(consume) }

    /// The task completed.
    func end() {
        lock.locked {
            timer?.cancel()
            timer = nil
            onHeadExpired = nil
        }
    }
}

/// Seconds one URLSession lane's delegate queue spent in consumers (writing bodies to disk):
/// time in which no task of the lane could hear from the network, whatever the server did.
final class ConsumerClock: @unchecked Sendable {
    private let lock = NSLock()
    private var busy: Double = 0

    var busySeconds: Double { lock.locked { busy } }

    func measure<T>(_ consume: () throws -> T) rethrows -> T {
        let start = monotonicSeconds()
        defer {
            let spent = monotonicSeconds() - start
            lock.locked { busy += spent }
        }
        return try consume()
    }
}
