import Foundation
@testable import ModelPullCore
import XCTest

/// The timing rules of `JobProgress` on a clock the test steps: updates closer together than
/// the minimum interval wait for the next tick, a silent job sends a heartbeat, and speed and
/// time left come from the bytes per second of that clock. No sleeping, no timed assertions.
final class ProgressTimingTests: XCTestCase {
    private final class ManualClock: @unchecked Sendable {
        private let now = LockedValue(1_000.0)
        var read: @Sendable () -> Double { { [now] in now.current } }
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    }

    private func make(_ clock: ManualClock) -> (JobProgress, LockedValue<[ProgressSnapshot]>) {
        let progress = JobProgress(downloadId: "dl-1", status: .downloading, message: "Downloading",
                                   minimumInterval: 0.1, heartbeatInterval: 2.0, clock: clock.read)
        let seen = LockedValue<[ProgressSnapshot]>([])
        progress.attach(1) { snapshot in seen.withLock { $0.append(snapshot) } }
        return (progress, seen)
    }

    func testUpdatesWithinTheMinimumIntervalWaitForTheNextTick() {
        let clock = ManualClock()
        let (progress, seen) = make(clock)
        progress.addFile("m.bin", size: 1_000)
        clock.advance(0.2)
        progress.advance("m.bin", completed: 100)
        let afterFirst = seen.current.count
        progress.advance("m.bin", completed: 200)  // same instant: held back
        XCTAssertEqual(seen.current.count, afterFirst)
        progress.tick()  // not yet due either
        XCTAssertEqual(seen.current.count, afterFirst + 1, "a tick sends what is pending")
        XCTAssertEqual(seen.current.last?.downloadedBytes, 200)
    }

    func testASilentJobSendsAHeartbeatOnlyWhenItIsDue() {
        let clock = ManualClock()
        let (progress, seen) = make(clock)
        let start = seen.current.count
        clock.advance(1.9)
        progress.tick()
        XCTAssertEqual(seen.current.count, start, "nothing to say and no heartbeat due")
        clock.advance(0.2)
        progress.tick()
        XCTAssertEqual(seen.current.count, start + 1, "a heartbeat after two silent seconds")
    }

    func testSpeedAndTimeLeftFollowTheClock() {
        let clock = ManualClock()
        let (progress, seen) = make(clock)
        progress.addFile("m.bin", size: 10_000_000)
        for second in 1...4 {
            clock.advance(1)
            progress.advance("m.bin", completed: Int64(second) * 1_000_000)
        }
        let last = try! XCTUnwrap(seen.current.last)
        let speed = try! XCTUnwrap(last.bytesPerSecond)
        XCTAssertEqual(speed, 1_000_000, accuracy: 100_000)
        XCTAssertEqual(try! XCTUnwrap(last.etaSeconds), 6, accuracy: 1)
    }
}
