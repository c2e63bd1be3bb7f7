import Foundation
@testable import ModelPullCore
import XCTest

/// The progress rules, on `JobProgress` directly.
final class JobProgressTests: XCTestCase {
    private final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var snapshots: [ProgressSnapshot] = []
        func record(_ snapshot: ProgressSnapshot) { lock.withLock { snapshots.append(snapshot) } }
        var all: [ProgressSnapshot] { lock.withLock { snapshots } }
    }

    private func makeProgress(interval: Double = 0) -> (JobProgress, Recorder) {
        let progress = JobProgress(downloadId: "dl-1", status: .starting, message: "Starting", minimumInterval: interval)
        let recorder = Recorder()
        progress.attach(1) { recorder.record($0) }
        return (progress, recorder)
    }

    func testAttachSendsTheCurrentStateAtOnce() {
        let (_, recorder) = makeProgress()
        XCTAssertEqual(recorder.all.map(\.status), [.starting])
        XCTAssertEqual(recorder.all.first?.downloadedBytes, 0)
    }

    func testBytesAndPercentNeverGoBackEvenWhenTotalsGrow() {
        let (progress, recorder) = makeProgress()
        progress.addFile("a", size: 100)
        progress.advance("a", completed: 80)
        progress.addFile("b", size: 900)  // the total grows tenfold: percent would fall from 80 to 8
        progress.advance("a", completed: 50)  // a re-sent range reports an earlier position
        progress.advance("b", completed: 100)
        let percents = recorder.all.compactMap(\.percent)
        XCTAssertEqual(percents, percents.sorted(), "percent never decreases: \(percents)")
        let bytes = recorder.all.map(\.downloadedBytes)
        XCTAssertEqual(bytes, bytes.sorted())
        XCTAssertEqual(recorder.all.last?.totalBytes, 1000)
        XCTAssertEqual(recorder.all.last?.downloadedBytes, 180)
    }

    func testByteUpdatesAreThrottledButStatusChangesAreNot() {
        let (progress, recorder) = makeProgress(interval: 10)
        progress.addFile("a", size: 1000)
        for position in stride(from: 10, through: 500, by: 10) { progress.advance("a", completed: Int64(position)) }
        XCTAssertEqual(recorder.all.count, 1, "no byte update inside the interval")
        progress.setStatus(.verifying, "Verifying")
        XCTAssertEqual(recorder.all.count, 2)
        XCTAssertEqual(recorder.all.last?.downloadedBytes, 500, "a status change carries the latest bytes")
        progress.tick()  // nothing pending, heartbeat not due
        XCTAssertEqual(recorder.all.count, 2)
    }

    func testExactlyOneTerminalEventAndSilenceAfterIt() {
        let (progress, recorder) = makeProgress()
        progress.addFile("a", size: 10)
        progress.advance("a", completed: 10)
        progress.finish(.success(DownloadResult(path: "/x", revision: nil, files: [], bytesDownloaded: 10, bytesReused: 0)))
        progress.finish(.failure(.cancelled()))
        progress.advance("a", completed: 20)
        progress.setMessage("late")
        progress.tick()
        XCTAssertEqual(recorder.all.filter { $0.status.isTerminal }.count, 1)
        XCTAssertEqual(recorder.all.last?.status, .complete)
        XCTAssertEqual(recorder.all.last?.percent, 100)
        XCTAssertFalse(progress.attach(2) { _ in XCTFail("a finished job takes no subscribers") })
    }

    func testReusedBytesCountAsDoneButNotAsSpeed() {
        let (progress, recorder) = makeProgress()
        progress.addFile("a", size: 100)
        progress.reuse("a", bytes: 60, fileComplete: false)
        XCTAssertEqual(recorder.all.last?.downloadedBytes, 60)
        XCTAssertEqual(progress.bytesReusedSoFar, 60)
        XCTAssertEqual(progress.networkBytesSoFar, 0)
        progress.advance("a", completed: 100)
        XCTAssertEqual(progress.networkBytesSoFar, 40)
    }

    func testDetachGivesOnlyThatSubscriberACancelledEvent() {
        let (progress, first) = makeProgress()
        let second = Recorder()
        progress.attach(2) { second.record($0) }
        progress.detach(2, failure: .cancelled("Request cancelled."))
        progress.setStatus(.downloading, "Downloading")
        XCTAssertEqual(second.all.map(\.status), [.starting, .cancelled])
        XCTAssertEqual(second.all.last?.failure?.kind, .cancelled)
        XCTAssertEqual(first.all.last?.status, .downloading)
    }
}
