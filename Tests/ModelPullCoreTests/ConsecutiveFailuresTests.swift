import Foundation
@testable import ModelPullCore
import XCTest

/// The retry bookkeeping every retrying loop shares.
final class ConsecutiveFailuresTests: XCTestCase {
    func testOnlyFailuresThatMadeNoProgressCountTowardsTheLimit() {
        var failures = ConsecutiveFailures(RetryPolicy(maxConsecutiveFailures: 3))
        XCTAssertTrue(failures.record())
        XCTAssertTrue(failures.record())
        XCTAssertTrue(failures.isLastAttempt)
        XCTAssertTrue(failures.record(movedForward: true), "a failure after progress starts a new run")
        XCTAssertEqual(failures.count, 1)
        failures.reset()
        XCTAssertTrue(failures.record())
        XCTAssertTrue(failures.record())
        XCTAssertFalse(failures.record(), "the third failure in a row ends the run")
    }

    func testAPauseHonoursTheServersWaitAndSaysWhichAttemptComes() {
        var failures = ConsecutiveFailures(RetryPolicy(maxConsecutiveFailures: 6, baseDelay: 1, maxDelay: 8))
        _ = failures.record()
        let asked = failures.pause("the server answered HTTP 503", subject: "m.bin", serverWait: 2.5)
        XCTAssertEqual(asked.seconds, 2.5)
        XCTAssertEqual(asked.message, "Retrying m.bin in 2.5 s: the server answered HTTP 503 (attempt 2 of 6)")
        let backoff = failures.pause("no data arrived for 30 s")
        XCTAssertTrue((0.75...1.0).contains(backoff.seconds), "\(backoff.seconds)")
        XCTAssertTrue(backoff.message.hasPrefix("Retrying in "), backoff.message)
    }
}
