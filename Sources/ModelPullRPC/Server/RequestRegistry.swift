import Foundation
import ModelPullCore

/// The requests in flight: which are running, which are downloads (so `$/cancelRequest` can
/// find their job), and cancellations that arrived before their download was registered.
final class RequestRegistry: Sendable {
    private struct State {
        var active: [RequestID: Task<Void, Never>] = [:]
        var reserved: Set<RequestID> = []
        var downloads: [RequestID: DownloadEngine.Subscription] = [:]
        var earlyCancels: Set<RequestID> = []
        /// Requests the client cancelled under MCP's rule: they get no response.
        var silenced: Set<RequestID> = []
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = LockedValue(State())

    /// Claims an id for a new request; false when a request with that id is still running.
    func reserve(_ id: RequestID) -> Bool {
        state.withLock { s in
            guard !s.reserved.contains(id) else { return false }
            s.reserved.insert(id)
            return true
        }
    }

    func attach(_ task: Task<Void, Never>, to id: RequestID) {
        state.withLock { s in
            if s.reserved.contains(id) { s.active[id] = task }
        }
    }

    func finish(_ id: RequestID) {
        let waiters = state.withLock { s in
            s.reserved.remove(id)
            s.active.removeValue(forKey: id)
            s.downloads.removeValue(forKey: id)
            s.earlyCancels.remove(id)
            s.silenced.remove(id)
            guard s.reserved.isEmpty else { return [CheckedContinuation<Void, Never>]() }
            defer { s.idleWaiters.removeAll() }
            return s.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Records a download's subscription; returns true when a cancel for it already arrived.
    func register(_ subscription: DownloadEngine.Subscription, for id: RequestID) -> Bool {
        state.withLock { s in
            s.downloads[id] = subscription
            return s.earlyCancels.remove(id) != nil
        }
    }

    /// The subscription to cancel for a request id, or nil (remembering the cancel if the
    /// request is running but has not registered its download yet).
    func subscriptionToCancel(_ id: RequestID) -> DownloadEngine.Subscription? {
        state.withLock { s in
            if let subscription = s.downloads[id] { return subscription }
            if s.reserved.contains(id) { s.earlyCancels.insert(id) }
            return nil
        }
    }

    /// Marks a running request as cancelled by the client, so it is not answered.
    func silence(_ id: RequestID) {
        state.withLock { s in
            if s.reserved.contains(id) { s.silenced.insert(id) }
        }
    }

    func isSilenced(_ id: RequestID) -> Bool {
        state.withLock { s in
            return s.silenced.contains(id)
        }
    }

    func requestIds(for downloadId: String) -> [RequestID] {
        state.withLock { s in
            return s.downloads.filter { $0.value.downloadId == downloadId }.map(\.key)
        }
    }

    /// Returns when no request is in flight.
    func waitUntilIdle() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { s in
                if !s.reserved.isEmpty { s.idleWaiters.append(continuation) }
                return s.reserved.isEmpty
            }
            if idle { continuation.resume() }
        }
    }
}
