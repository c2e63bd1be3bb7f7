import Foundation

/// Opens a file's connections beyond the first few only while they add throughput. Each window
/// in which every open connection finished about one piece measures the file's rate; the count
/// doubles while the previous doubling raised that rate by at least `growth`, and when one did
/// not, it goes back to what it was (the extra connections end after their current piece). A
/// server that throttles each connection gets every connection the file may use; a fast one
/// (where more connections only add work on the same cores) keeps the first few.
final class ConnectionRamp: @unchecked Sendable {
    /// Measured on the benchmark machine: doubling the connections to a CDN that throttles each
    /// one raised the rate ~2×, to an unthrottled one 1.0–1.15×.
    private static let growth = 1.3
    private let gate: ConnectionBudget
    private let lock = NSLock()
    private let limit: Int
    /// Connections allowed to work, and those working.
    private var open: Int
    private var working: Int
    private var windowStart = monotonicSeconds()
    private var windowBytes: Int64 = 0
    private var windowPieces = 0
    private var before: (connections: Int, rate: Double)?
    /// The first window (it pays for connecting) and the one right after a doubling (old
    /// connections can fill it before the new ones deliver their first piece) are not measured.
    private var inTransition = true
    private var settled = false

    init(initial: Int, limit: Int) {
        self.limit = max(1, limit)
        open = min(max(1, initial), self.limit)
        working = open
        gate = ConnectionBudget(capacity: max(1, self.limit - open), available: 0)
    }

    /// Waits until the ramp opens this connection (throws if the fetch is cancelled meanwhile).
    func admission() async throws {
        try await gate.acquire()
        lock.locked { working += 1 }
    }

    /// After each piece: false when this connection is one too many and should end.
    func pieceArrived(bytes: Int64) -> Bool {
        let admit: Int = lock.locked {
            windowBytes += bytes
            windowPieces += 1
            guard !settled, windowPieces >= open else { return 0 }
            let now = monotonicSeconds()
            let rate = Double(windowBytes) / max(now - windowStart, 1e-6)
            windowStart = now
            windowBytes = 0
            windowPieces = 0
            if inTransition {
                inTransition = false
                return 0
            }
            if let before, rate < before.rate * Self.growth {
                // The last doubling did not pay: back to the count before it.
                open = before.connections
                settled = true
                return 0
            }
            guard open < limit else { settled = true; return 0 }
            before = (open, rate)
            let more = min(open, limit - open)
            open += more
            inTransition = true
            return more
        }
        for _ in 0..<admit { gate.release() }
        return lock.locked {
            guard working > open else { return true }
            working -= 1
            return false
        }
    }

    /// Lets every waiting connection in (to find no work and end).
    func admitAll() {
        for _ in 0..<gate.capacity { gate.release() }
    }
}
