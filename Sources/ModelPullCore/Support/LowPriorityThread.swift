import Foundation

/// A serial queue on a thread of its own that runs below normal priority: for work that must
/// keep up over time but should give way to the transfer it follows (hashing behind a download).
///
/// Why not a dispatch queue: a priority is a property of a thread, and dispatch's threads are
/// shared, so lowering one would lower whatever ran on it next. Measured on two cores, 1 GiB
/// unthrottled: hashing at normal priority took CPU from the socket reads and made the download
/// 1.1-1.2x slower; at lower priority it used the cycles the transfer left idle and cost ~1.0x.
final class LowPriorityThread: @unchecked Sendable {
    /// Linux nice value of the thread: under contention it gets about a tenth of what a
    /// normal thread gets, and all of an otherwise idle core.
    static let niceness: Int32 = 10

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var closed = false

    init(name: String) {
        // The thread runs until `close()`; then it finishes the queued jobs and ends.
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.qualityOfService = .utility
        thread.start()
    }

    func async(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return }
        jobs.append(job)
        condition.signal()
    }

    /// Waits until every job queued before this call has run.
    func drained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            let open = !closed
            if open { jobs.append { continuation.resume() }; condition.signal() }
            condition.unlock()
            if !open { continuation.resume() }
        }
    }

    /// Ends the thread once the jobs already queued have run.
    func close() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        #if os(Linux)
        // On Linux a PRIO_PROCESS of 0 means the calling thread, not the whole process.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
        #endif
        while true {
            condition.lock()
            while jobs.isEmpty && !closed { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
