import Foundation

/// Opens a file's connections beyond the first few only while they add throughput. Each window
/// in which every open connection finished about one piece measures the file's rate; the count
/// doubles while the previous doubling raised that rate by at least `growth`, and when one did
/// not, it goes back to what it was (the extra connections end after their current piece). A
/// server that throttles each connection gets every connection the file may use; a fast one
/// (where more connections only add work on the same cores) keeps the first few.
final class ConnectionRamp: Sendable {
    /// Measured on the benchmark machine: doubling the connections to a CDN that throttles each
    /// one raised the rate ~2×, to an unthrottled one 1.0–1.15×.
    private static let growth = 1.3
    private let gate: ConnectionBudget
    private let limit: Int
    /// The window being measured and what the ramp decided so far.
    private struct State {
        /// Connections allowed to work, and those working.
        var open: Int
        var working: Int
        var windowStart = monotonicSeconds()
        var windowBytes: Int64 = 0
        var windowPieces = 0
        var before: (connections: Int, rate: Double)?
        /// The first window (it pays for connecting) and the one right after a doubling (old
        /// connections can fill it before the new ones deliver their first piece) are not measured.
        var inTransition = true
        var settled = false
    }
    private let state: LockedValue<State>

    init(initial: Int, limit: Int) {
        self.limit = max(1, limit)
        let open = min(max(1, initial), self.limit)
        state = LockedValue(State(open: open, working: open))
        gate = ConnectionBudget(capacity: max(1, self.limit - open), available: 0)
    }

    /// Waits until the ramp opens this connection (throws if the fetch is cancelled meanwhile).
    func admission() async throws {
        try await gate.acquire()
        state.withLock { $0.working += 1 }
    }

    /// After each piece: false when this connection is one too many and should end.
    func pieceArrived(bytes: Int64) -> Bool {
        let admit: Int = state.withLock { s in
            s.windowBytes += bytes
            s.windowPieces += 1
            guard !s.settled, s.windowPieces >= s.open else { return 0 }
            let now = monotonicSeconds()
            let rate = Double(s.windowBytes) / max(now - s.windowStart, 1e-6)
            s.windowStart = now
            s.windowBytes = 0
            s.windowPieces = 0
            if s.inTransition {
                s.inTransition = false
                return 0
            }
            if let before = s.before, rate < before.rate * Self.growth {
                // The last doubling did not pay: back to the count before it.
                s.open = before.connections
                s.settled = true
                return 0
            }
            guard s.open < limit else { s.settled = true; return 0 }
            s.before = (s.open, rate)
            let more = min(s.open, limit - s.open)
            s.open += more
            s.inTransition = true
            return more
        }
        for _ in 0..<admit { gate.release() }
        return state.withLock { s in
            guard s.working > s.open else { return true }
            s.working -= 1
            return false
        }
    }

    /// Lets every waiting connection in (to find no work and end).
    func admitAll() {
        for _ in 0..<gate.capacity { gate.release() }
    }
}
