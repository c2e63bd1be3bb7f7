import Foundation
@testable import ModelPullCore
import XCTest

/// `DownloadEngine` in process, with a provider whose downloads wait until the test lets them
/// finish: queueing, single-flight, cancellation and the order of the last event and the answer.
final class DownloadEngineTests: XCTestCase {
    /// What the plans of one test have done, and which of them may finish.
    final class Gates: Sendable {
        private let state = LockedValue((started: [String](), released: Set<String>(), cancelled: Set<String>()))
        func start(_ model: String) { state.withLock { $0.started.append(model) } }
        func release(_ model: String) { state.withLock { _ = $0.released.insert(model) } }
        var started: [String] { state.current.started }
        var cancelled: Set<String> { state.current.cancelled }

        func wait(_ model: String) async throws {
            do {
                while !state.current.released.contains(model) {
                    try await Task.sleep(for: .milliseconds(2))
                }
            } catch {
                state.withLock { _ = $0.cancelled.insert(model) }
                throw error
            }
        }
    }

    struct GatedProvider: Provider {
        let name = "gated"
        let summary = "downloads that finish when the test says"
        let parameters: Set<DownloadParameter> = [.revision]
        let gates: Gates

        func availability(in context: ProviderContext) async -> ProviderAvailability { ProviderAvailability(available: true) }

        func prepare(_ request: DownloadRequest, context: ProviderContext) throws(DownloadFailure) -> any DownloadPlan {
            guard request.model != "bad" else { throw DownloadFailure(.invalidModel, "bad is not a model") }
            return GatedPlan(model: request.model, gates: gates)
        }
    }

    struct GatedPlan: DownloadPlan {
        let model: String
        let gates: Gates
        var secrets: [String] { [] }

        func run(_ context: DownloadContext) async throws -> DownloadResult {
            context.progress.addFile(model, size: 100)
            gates.start(model)
            try await gates.wait(model)
            context.progress.advance(model, completed: 100)
            context.progress.fileFinished(model)
            return DownloadResult(path: "/models/\(model)", revision: nil, files: [.init(path: model, size: 100)],
                                  bytesDownloaded: 100, bytesReused: 0)
        }
    }

    private var gates = Gates()

    private func engine(maxConcurrent: Int = 3) -> DownloadEngine {
        let context = ProviderContext(environment: ProcessEnvironment([:]), http: HTTPClient(userAgent: "test"),
                                      log: LogSink { _, _ in })
        return DownloadEngine(registry: ProviderRegistry([GatedProvider(gates: gates)]), context: context,
                              maxConcurrent: maxConcurrent, tickInterval: .milliseconds(10))
    }

    private func request(_ model: String) -> DownloadRequest { DownloadRequest(provider: "gated", model: model) }

    private func eventually(_ condition: () -> Bool, _ message: String) async {
        for _ in 0..<2_000 where !condition() { try? await Task.sleep(for: .milliseconds(5)) }
        XCTAssertTrue(condition(), message)
    }

    func testJobsBeyondTheLimitQueueAndStartInOrder() async throws {
        let engine = engine(maxConcurrent: 1)
        let firstEvents = LockedValue<[ProgressSnapshot]>([])
        let secondEvents = LockedValue<[ProgressSnapshot]>([])
        let first = try await engine.submit(request("a")) { event in firstEvents.withLock { $0.append(event) } }
        let second = try await engine.submit(request("b")) { event in secondEvents.withLock { $0.append(event) } }
        XCTAssertEqual(secondEvents.current.first?.status, .queued)
        await eventually({ gates.started == ["a"] }, "only the first runs")
        gates.release("a")
        let firstDone = await engine.completion(of: first)
        XCTAssertEqual(try firstDone.outcome.get().path, "/models/a")
        await eventually({ gates.started == ["a", "b"] }, "the queued job starts when a slot frees")
        gates.release("b")
        _ = try (await engine.completion(of: second)).outcome.get()
        XCTAssertEqual(secondEvents.current.last?.status, .complete)
    }

    func testIdenticalRequestsShareOneJob() async throws {
        let engine = engine()
        let first = try await engine.submit(request("a")) { _ in }
        let second = try await engine.submit(request("a")) { _ in }
        XCTAssertEqual(first.downloadId, second.downloadId)
        XCTAssertFalse(first.joinedExisting)
        XCTAssertTrue(second.joinedExisting)
        let other = try await engine.submit(DownloadRequest(provider: "gated", model: "a", revision: "v2")) { _ in }
        XCTAssertNotEqual(other.downloadId, first.downloadId, "another revision is other work")
        gates.release("a")
        _ = try (await engine.completion(of: first)).outcome.get()
        _ = try (await engine.completion(of: second)).outcome.get()
        _ = try (await engine.completion(of: other)).outcome.get()
        XCTAssertEqual(gates.started, ["a", "a"], "one plan ran per job")
    }

    func testCancellingOneSubscriberDetachesItAndTheJobGoesOnForTheOther() async throws {
        let engine = engine()
        let leaving = try await engine.submit(request("a")) { _ in }
        let staying = try await engine.submit(request("a")) { _ in }
        await engine.cancel(leaving)
        let left = await engine.completion(of: leaving)
        XCTAssertEqual(left.outcome.failureKind, .cancelled)
        XCTAssertTrue(gates.cancelled.isEmpty, "the job goes on")
        gates.release("a")
        let stayed = await engine.completion(of: staying)
        XCTAssertEqual(try stayed.outcome.get().bytesDownloaded, 100)
    }

    func testCancellingTheLastSubscriberStopsTheJob() async throws {
        let engine = engine()
        let only = try await engine.submit(request("a")) { _ in }
        await eventually({ gates.started == ["a"] }, "running")
        await engine.cancel(only)
        let stopped = await engine.completion(of: only)
        XCTAssertEqual(stopped.outcome.failureKind, .cancelled)
        XCTAssertEqual(gates.cancelled, ["a"], "the plan's task was cancelled")
        let listed = await engine.list()
        XCTAssertTrue(listed.isEmpty)
    }

    func testTheTerminalEventComesBeforeTheAnswer() async throws {
        let engine = engine()
        let events = LockedValue<[ProgressSnapshot]>([])
        let subscription = try await engine.submit(request("a")) { event in events.withLock { $0.append(event) } }
        gates.release("a")
        _ = await engine.completion(of: subscription)
        let statuses = events.current.map(\.status)
        XCTAssertEqual(statuses.last, .complete, "\(statuses)")
        XCTAssertEqual(statuses.filter(\.isTerminal).count, 1, "exactly one terminal event")
    }

    func testRequestsThePlanCannotTakeAreRefusedBeforeQueueing() async {
        let engine = engine()
        await XCTAssertThrowsFailure(try await engine.submit(request("bad")) { _ in }, kind: .invalidModel)
        var withPattern = request("a")
        withPattern.include = ["*.gguf"]
        await XCTAssertThrowsFailure(try await engine.submit(withPattern) { _ in }, kind: .invalidModel)
        await XCTAssertThrowsFailure(try await engine.submit(DownloadRequest(provider: "nope", model: "a")) { _ in },
                                     kind: .unsupportedProvider)
        let listed = await engine.list()
        XCTAssertTrue(listed.isEmpty)
        XCTAssertTrue(gates.started.isEmpty)
    }

    private func XCTAssertThrowsFailure<T>(_ body: @autoclosure () async throws -> T, kind: ErrorKind,
                                           file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await body()
            XCTFail("no failure", file: file, line: line)
        } catch let failure as DownloadFailure {
            XCTAssertEqual(failure.kind, kind, failure.message, file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }
}

extension Result where Failure == DownloadFailure {
    var failureKind: ErrorKind? {
        if case .failure(let failure) = self { return failure.kind }
        return nil
    }
}
