import Foundation

/// A value produced once by one task and awaited by another: the file size the first response
/// reveals, which the other connections wait for before they can split the file.
final class OnceValue<Value: Sendable>: Sendable {
    private let state = LockedValue<(result: Result<Value, any Error>?, waiters: [CheckedContinuation<Value, any Error>])>((nil, []))

    /// The first call wins; later ones are ignored.
    func resolve(_ outcome: Result<Value, any Error>) {
        let waiting = state.withLock { state -> [CheckedContinuation<Value, any Error>] in
            guard state.result == nil else { return [] }
            state.result = outcome
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiting { waiter.resume(with: outcome) }
    }

    var isResolved: Bool { state.withLock { $0.result != nil } }

    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let known = state.withLock { state -> Result<Value, any Error>? in
                if state.result == nil { state.waiters.append(continuation) }
                return state.result
            }
            if let known { continuation.resume(with: known) }
        }
    }
}
