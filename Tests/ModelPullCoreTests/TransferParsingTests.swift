import Foundation
@testable import ModelPullCore
import XCTest

final class TransferParsingTests: XCTestCase {
    func testContentRange() {
        XCTAssertEqual(ContentRange("bytes 0-99/1000"), ContentRange("bytes 0-99/1000"))
        XCTAssertEqual(ContentRange("bytes 5-9/*")?.total, nil)
        XCTAssertEqual(ContentRange("bytes 5-9/10")?.last, 9)
        XCTAssertNil(ContentRange("bytes 9-5/10"))
        XCTAssertNil(ContentRange("items 0-1/2"))
        XCTAssertNil(ContentRange(nil))
        XCTAssertEqual(ContentRange.unsatisfiedTotal("bytes */4096"), 4096)
    }

    func testRetryAfterSecondsDateAndRateLimitHeader() {
        XCTAssertEqual(RetryPolicy.retryAfter(HTTPHeaders(["Retry-After": "7"])), 7)
        let now = Date(timeIntervalSince1970: 1_000_000)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: now.addingTimeInterval(30))
        XCTAssertEqual(RetryPolicy.retryAfter(HTTPHeaders(["Retry-After": date]), now: now) ?? 0, 30, accuracy: 1)
        XCTAssertEqual(RetryPolicy.retryAfter(HTTPHeaders(["RateLimit": "\"api\";r=0;t=12"])), 13)
        XCTAssertNil(RetryPolicy.retryAfter(HTTPHeaders([:])))
    }

    func testBackoffGrowsAndIsCapped() {
        let policy = RetryPolicy(baseDelay: 1, maxDelay: 8)
        XCTAssertLessThanOrEqual(policy.delay(forAttempt: 1), 1)
        XCTAssertGreaterThanOrEqual(policy.delay(forAttempt: 3), 3)
        XCTAssertLessThanOrEqual(policy.delay(forAttempt: 20), 8)
    }

    func testHostileServerPathsAreRefused() {
        for bad in ["../x", "/abs", "a\\b", "a/../b", "a//b", "x\u{0}y", "line\nbreak", "", ".", "a/./b", "tab\there"] {
            XCTAssertThrowsError(try SafePath.validate(bad), bad.debugDescription)
        }
        for good in ["model.safetensors", "onnx/model.onnx", "a/b/c.json", "..hidden", "x..y", "ünïcode.txt"] {
            XCTAssertNoThrow(try SafePath.validate(good), good)
        }
    }
}
