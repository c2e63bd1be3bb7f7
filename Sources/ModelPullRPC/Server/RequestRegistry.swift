import Foundation
import ModelPullCore

/// The requests in flight: which are running, which are downloads (so `$/cancelRequest` can
/// find their job), and cancellations that arrived before their download was registered.
final class RequestRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var active: [RequestID: Task<Void, Never>] = [:]
    private var reserved: Set<RequestID> = []
    private var downloads: [RequestID: DownloadEngine.Subscription] = [:]
    private var earlyCancels: Set<RequestID> = []
    /// Requests the client cancelled under MCP's rule: they get no response.
    private var silenced: Set<RequestID> = []
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    /// Claims an id for a new request; false when a request with that id is still running.
    func reserve(_ id: RequestID) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard !reserved.contains(id) else { return false }
        reserved.insert(id)
        return true
    }

    func attach(_ task: Task<Void, Never>, to id: RequestID) {
        lock.lock(); defer { lock.unlock() }
        if reserved.contains(id) { active[id] = task }
    }

    func finish(_ id: RequestID) {
        lock.lock()
        reserved.remove(id)
        active.removeValue(forKey: id)
        downloads.removeValue(forKey: id)
        earlyCancels.remove(id)
        silenced.remove(id)
        let waiters = reserved.isEmpty ? idleWaiters : []
        if reserved.isEmpty { idleWaiters.removeAll() }
        lock.unlock()
        for waiter in waiters { waiter.resume() }
    }

    /// Records a download's subscription; returns true when a cancel for it already arrived.
    func register(_ subscription: DownloadEngine.Subscription, for id: RequestID) -> Bool {
        lock.lock(); defer { lock.unlock() }
        downloads[id] = subscription
        return earlyCancels.remove(id) != nil
    }

    /// The subscription to cancel for a request id, or nil (remembering the cancel if the
    /// request is running but has not registered its download yet).
    func subscriptionToCancel(_ id: RequestID) -> DownloadEngine.Subscription? {
        lock.lock(); defer { lock.unlock() }
        if let subscription = downloads[id] { return subscription }
        if reserved.contains(id) { earlyCancels.insert(id) }
        return nil
    }

    /// Marks a running request as cancelled by the client, so it is not answered.
    func silence(_ id: RequestID) {
        lock.lock(); defer { lock.unlock() }
        if reserved.contains(id) { silenced.insert(id) }
    }

    func isSilenced(_ id: RequestID) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return silenced.contains(id)
    }

    func requestIds(for downloadId: String) -> [RequestID] {
        lock.lock(); defer { lock.unlock() }
        return downloads.filter { $0.value.downloadId == downloadId }.map(\.key)
    }

    /// Returns when no request is in flight.
    func waitUntilIdle() async {
        await withCheckedContinuation { continuation in
            lock.lock()
            if reserved.isEmpty {
                lock.unlock()
                continuation.resume()
            } else {
                idleWaiters.append(continuation)
                lock.unlock()
            }
        }
    }
}
