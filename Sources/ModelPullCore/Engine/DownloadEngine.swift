import Foundation

/// Runs downloads: gives each a job id, queues beyond the concurrency limit, lets identical
/// requests share one job (single-flight), cancels, and hands every attached request exactly one
/// completion after its terminal progress event.
public actor DownloadEngine {
    /// A request's attachment to a job. The RPC layer keeps it to cancel or await that request.
    public struct Subscription: Sendable, Hashable {
        public let downloadId: String
        public let subscriberId: Int
        /// True when the request joined a job that was already running.
        public let joinedExisting: Bool
    }

    /// A job as `downloads/list` shows it.
    public struct JobSummary: Sendable {
        public var downloadId: String
        public var provider: String
        public var model: String
        public var subscribers: [Int]
        public var startedAt: Date
        public var snapshot: ProgressSnapshot
    }

    private final class Job {
        let id: String
        let request: DownloadRequest
        let plan: any DownloadPlan
        let progress: JobProgress
        let startedAt = Date()
        let startedMonotonic = monotonicSeconds()
        var task: Task<Void, Never>?
        var ticker: Task<Void, Never>?
        var waiters: [Int: CheckedContinuation<DownloadCompletion, Never>] = [:]
        var subscribers: Set<Int> = []
        var completion: DownloadCompletion?
        var cancelRequested = false

        init(id: String, request: DownloadRequest, plan: any DownloadPlan, progress: JobProgress) {
            self.id = id
            self.request = request
            self.plan = plan
            self.progress = progress
        }
    }

    public nonisolated let registry: ProviderRegistry
    private let context: ProviderContext
    private let maxConcurrent: Int
    private let tickInterval: Duration

    private var jobs: [String: Job] = [:]
    private var jobByKey: [SingleFlightKey: String] = [:]
    private var queue: [String] = []
    private var running: Set<String> = []
    /// Completions that ended before their request asked for them (a fast job, a detach).
    private var unclaimed: [Int: DownloadCompletion] = [:]
    private var nextJobNumber = 1
    private var nextSubscriberId = 1
    private var acceptingWork = true

    public init(registry: ProviderRegistry, context: ProviderContext, maxConcurrent: Int = 3,
                tickInterval: Duration = .milliseconds(250)) {
        self.registry = registry
        self.context = context
        self.maxConcurrent = max(1, maxConcurrent)
        self.tickInterval = tickInterval
    }

    public var providerContext: ProviderContext { context }

    // MARK: Submitting and waiting

    /// Starts a job for `request`, or attaches to the running job for the same model. The
    /// observer receives the job's current state before this returns, then every event.
    public func submit(_ request: DownloadRequest,
                       observer: @escaping JobProgress.Observer) throws(DownloadFailure) -> Subscription {
        guard acceptingWork else {
            throw DownloadFailure(.cancelled, "The server is shutting down and accepts no new downloads.")
        }
        guard let provider = registry.provider(named: request.provider) else {
            throw DownloadFailure(.unsupportedProvider,
                "Unknown provider '\(request.provider)'. Use one of: \(registry.names.joined(separator: ", ")).")
        }
        do {
            try request.checkParameters()
            try registry.checkApplicable(request)
        } catch {
            throw DownloadFailure(.invalidModel, "`\(error.field)` must be \(error.expected), got \(error.received).")
        }
        let plan = try provider.prepare(request, context: context)

        let subscriberId = nextSubscriberId
        nextSubscriberId += 1

        if let existingId = jobByKey[request.singleFlightKey], let job = jobs[existingId],
           job.completion == nil, !job.cancelRequested, job.progress.attach(subscriberId, observer) {
            job.subscribers.insert(subscriberId)
            return Subscription(downloadId: job.id, subscriberId: subscriberId, joinedExisting: true)
        }

        let id = "dl-\(nextJobNumber)"
        nextJobNumber += 1
        let willQueue = running.count >= maxConcurrent
        let progress = JobProgress(
            downloadId: id, status: willQueue ? .queued : .starting,
            message: willQueue
                ? "Queued: \(running.count) download(s) running, the limit is \(maxConcurrent)"
                : "Starting \(request.provider) download of \(request.modelForDisplay)")
        for secret in plan.secrets + request.urlCredentials {
            progress.addSecret(secret)
        }
        let job = Job(id: id, request: request, plan: plan, progress: progress)
        jobs[id] = job
        jobByKey[request.singleFlightKey] = id
        job.subscribers.insert(subscriberId)
        progress.attach(subscriberId, observer)

        if willQueue {
            queue.append(id)
        } else {
            start(job)
        }
        return Subscription(downloadId: id, subscriberId: subscriberId, joinedExisting: false)
    }

    /// Waits until the job ends (or this request is detached) and returns its completion. The
    /// terminal progress event has already been delivered to the observer when this returns.
    public func completion(of subscription: Subscription) async -> DownloadCompletion {
        if let done = unclaimed.removeValue(forKey: subscription.subscriberId) { return done }
        guard let job = jobs[subscription.downloadId], job.subscribers.contains(subscription.subscriberId) else {
            preconditionFailure("completion(of:) called twice for one subscription")
        }
        return await withCheckedContinuation { continuation in
            job.waiters[subscription.subscriberId] = continuation
        }
    }

    // MARK: Cancelling

    /// Cancels a whole job for every request attached to it. Returns the job's status, or nil
    /// when no such job is running or queued (finished jobs are forgotten).
    @discardableResult
    public func cancel(downloadId: String) -> DownloadStatus? {
        guard let job = jobs[downloadId], job.completion == nil else { return nil }
        job.cancelRequested = true
        if let index = queue.firstIndex(of: job.id) {
            // Never started: finish it here, there is no task to wind down.
            queue.remove(at: index)
            finish(job, outcome: .failure(.cancelled("Download cancelled before it started.")))
            return .cancelled
        }
        job.task?.cancel()
        return job.progress.current().status
    }

    /// Cancels one request. If other requests share its job, only this one is detached (it gets
    /// its own `cancelled` event and completion) and the job goes on for the rest.
    public func cancel(_ subscription: Subscription) {
        guard let job = jobs[subscription.downloadId], job.completion == nil,
              job.subscribers.contains(subscription.subscriberId) else { return }
        if job.subscribers.count == 1 {
            cancel(downloadId: job.id)
            return
        }
        job.subscribers.remove(subscription.subscriberId)
        job.progress.detach(subscription.subscriberId, failure: .cancelled(
            "Request cancelled. The shared download goes on for the other requests attached to it."))
        deliver(detachedCompletion(job), to: subscription.subscriberId, of: job)
    }

    /// Stops accepting work and cancels everything (stdin EOF, SIGTERM, `shutdown`).
    public func shutdown() {
        acceptingWork = false
        for id in Array(jobs.keys) { cancel(downloadId: id) }
    }

    /// Returns once no job is running or queued.
    public func waitUntilIdle() async {
        while jobs.values.contains(where: { $0.completion == nil }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: Listing

    public func list() -> [JobSummary] {
        jobs.values
            .filter { $0.completion == nil }
            .sorted { $0.startedMonotonic < $1.startedMonotonic }
            .map { JobSummary(downloadId: $0.id, provider: $0.request.provider, model: $0.request.modelForDisplay,
                              subscribers: $0.subscribers.sorted(), startedAt: $0.startedAt,
                              snapshot: $0.progress.current()) }
    }

    // MARK: Running jobs

    private func start(_ job: Job) {
        running.insert(job.id)
        if job.progress.current().status == .queued {
            job.progress.setStatus(.starting, "Starting \(job.request.provider) download of \(job.request.modelForDisplay)")
        }
        let downloadContext = DownloadContext(shared: context, progress: job.progress, downloadId: job.id)
        let plan = job.plan
        let jobId = job.id
        job.task = Task { [weak self] in
            let outcome: Result<DownloadResult, DownloadFailure>
            do {
                // Every connection of this job counts for it in the shared budget's fair split.
                let result = try await ConnectionBudget.$owner.withValue(.init(jobId)) {
                    try await plan.run(downloadContext)
                }
                outcome = .success(result)
            } catch let failure as DownloadFailure {
                outcome = .failure(Task.isCancelled && failure.kind != .cancelled ? .cancelled() : failure)
            } catch is CancellationError {
                outcome = .failure(.cancelled())
            } catch {
                outcome = .failure(Task.isCancelled ? .cancelled()
                    : DownloadFailure(.storage, "Unexpected error: \(error)", retryable: false))
            }
            await self?.jobEnded(jobId, outcome: outcome)
        }
        let interval = tickInterval
        let progress = job.progress
        job.ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                progress.tick()
            }
        }
    }

    private func jobEnded(_ id: String, outcome: Result<DownloadResult, DownloadFailure>) {
        guard let job = jobs[id] else { return }
        running.remove(id)
        finish(job, outcome: outcome)
        startQueuedJobs()
    }

    private func finish(_ job: Job, outcome: Result<DownloadResult, DownloadFailure>) {
        job.ticker?.cancel()
        // The response carries the same words as the terminal event: scrubbed of secrets.
        let outcome = outcome.mapError { job.progress.redact($0) }
        let completion = DownloadCompletion(
            downloadId: job.id, provider: job.request.provider, model: job.request.modelForDisplay,
            outcome: outcome, seconds: monotonicSeconds() - job.startedMonotonic)
        job.completion = completion
        // The terminal event first, then the responses: observers enqueue the event before any
        // waiter can enqueue its response.
        job.progress.finish(outcome)
        for subscriberId in job.subscribers { deliver(completion, to: subscriberId, of: job) }
        if jobByKey[job.request.singleFlightKey] == job.id {
            jobByKey.removeValue(forKey: job.request.singleFlightKey)
        }
        jobs.removeValue(forKey: job.id)
    }

    private func deliver(_ completion: DownloadCompletion, to subscriberId: Int, of job: Job) {
        if let waiter = job.waiters.removeValue(forKey: subscriberId) {
            waiter.resume(returning: completion)
        } else {
            unclaimed[subscriberId] = completion
        }
    }

    private func startQueuedJobs() {
        while running.count < maxConcurrent, !queue.isEmpty {
            let id = queue.removeFirst()
            if let job = jobs[id] { start(job) }
        }
    }

    private func detachedCompletion(_ job: Job) -> DownloadCompletion {
        DownloadCompletion(downloadId: job.id, provider: job.request.provider, model: job.request.modelForDisplay,
                           outcome: .failure(.cancelled("Request cancelled.")),
                           seconds: monotonicSeconds() - job.startedMonotonic)
    }
}


extension DownloadEngine {
    public var providerNames: [String] { registry.names }

    public var registeredProviders: [any Provider] { registry.providers }

    /// Every provider with its availability, checked concurrently (an Ollama probe must not
    /// hold up the others).
    public func providerStatus() async -> [(name: String, summary: String, availability: ProviderAvailability)] {
        let providers = registry.providers
        let context = self.context
        return await withTaskGroup(of: (Int, ProviderAvailability).self) { group in
            for (index, provider) in providers.enumerated() {
                group.addTask { (index, await provider.availability(in: context)) }
            }
            var results = [ProviderAvailability?](repeating: nil, count: providers.count)
            for await (index, availability) in group { results[index] = availability }
            return providers.indices.map { (providers[$0].name, providers[$0].summary, results[$0]!) }
        }
    }
}
