import Foundation
import TestSupport
import XCTest

/// Files larger than one piece (2 MiB) are fetched in ranges over several connections. These
/// tests break one range in the middle (drop, stall, 503, corruption, a kill -9) through the real
/// binary and check what the server had to send again and what ends up on disk.
final class ParallelDownloadTests: URLTestCase {
    private let piece = 2 << 20
    /// Serves `data` at /m.bin; `flaky` decides how the first request for one piece goes.
    private func serve(_ data: Data, flaky: FlakyPiece? = nil, ranges: Bool = true) throws -> LoopbackHTTPServer {
        let file = StaticFile(data: data, supportsRanges: ranges)
        let router = Router()
        router.get("/m.bin") { request in flaky?.respond(request, file: file) ?? file.response(for: request) }
        return try LoopbackHTTPServer(router: router)
    }

    private func ranges(_ server: LoopbackHTTPServer) -> [(start: Int, end: Int)] {
        server.requests(to: "/m.bin").compactMap { request in
            guard let spec = request.header("Range")?.dropFirst("bytes=".count).split(separator: "-"), spec.count == 2,
                  let start = Int(spec[0]), let last = Int(spec[1]) else { return nil }
            return (start, last + 1)
        }
    }

    /// `/m.bin` from `http`, every connection throttled to 8 MB/s as a CDN throttles them:
    /// completes under the progress rules with exactly `data` on disk.
    private func downloadThrottled(_ data: Data, from http: LoopbackHTTPServer,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        http.faults.add(.rateLimit(bytesPerSecond: 8 << 20), for: .path("/m.bin"), times: .always)
        let sha = try Checksums.sha256(of: data)
        let server = try ModelPullProcess()
        server.request(1, "models/download", params(http.url("/m.bin"), ["sha256": sha]))
        let (notifications, response) = server.response(to: 1, timeout: 60)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete", file: file, line: line)
        XCTAssertEqual(try Checksums.sha256(of: directory + "/m.bin"), sha, file: file, line: line)
    }

    func testALargeFileIsFetchedInBoundedRangesOverSeveralConnections() throws {
        let data = TestBytes.make(count: 4 * piece + 12_345, seed: 90)
        let http = try serve(data)
        defer { http.stop() }
        try downloadThrottled(data, from: http)
        let asked = ranges(http)
        XCTAssertGreaterThanOrEqual(asked.count, 4, "split into pieces: \(asked)")
        // The first request (which learns the size) asks for 4 MiB, every other one for a piece.
        XCTAssertEqual(asked.first.map { $0.end - $0.start }, 2 * piece)
        XCTAssertTrue(asked.dropFirst().allSatisfy { $0.end - $0.start <= piece }, "no request asks for more than one piece: \(asked)")
        XCTAssertGreaterThan(http.connectionsAccepted, 1, "several connections")
        // Every piece keeps the same pace, so none is worth splitting: the server sends each
        // byte once (within 1 %, the bound of `testASlowPieceIsSplitAndTheServerSendsUnderOnePercentMore`).
        XCTAssertLessThanOrEqual(http.bodyBytesSent(path: "/m.bin"), data.count + data.count / 100)
        let state = try FileManager.default.contentsOfDirectory(atPath: directory + "/.modelpull")
        XCTAssertFalse(state.contains { $0.hasSuffix(".partial") || $0.hasSuffix(".ranges") }, "\(state)")
    }

    // The faulty range is the last one, smaller than two minimum splits (2 × 512 KiB), so no idle
    // connection takes it over and the resume point is deterministic.
    /// On both transfer engines: libcurl (the default on Linux) and URLSession (the fallback).
    func testADropInTheMiddleOfOneRangeResumesThatRangeFromTheByteReached() throws {
        let data = TestBytes.make(count: 3 * piece + 900_000, seed: 91)
        let sha = try Checksums.sha256(of: data)
        for engine in ["libcurl", "urlsession"] {
            let local = directory + "/" + engine
            let http = try serve(data, flaky: FlakyPiece(start: 3 * piece, trouble: .drop(after: 400_000)))
            defer { http.stop() }
            http.faults.add(.rateLimit(bytesPerSecond: 8 << 20), for: .path("/m.bin"), times: .always)
            let server = try ModelPullProcess(arguments: ["--log-level", "debug"],
                                              environment: ["MODELPULL_TRANSFER_ENGINE": engine])
            server.request(1, "models/download", params(http.url("/m.bin"), ["sha256": sha, "localDir": local]))
            let (notifications, response) = server.response(to: 1, timeout: 60)
            ProgressRules.check(notifications, response: response, expectTerminal: "complete")
            XCTAssertEqual(try Checksums.sha256(of: local + "/m.bin"), sha, engine)
            XCTAssertTrue(ranges(http).contains { $0.start == 3 * piece + 400_000 && $0.end == data.count },
                          "resumed at the byte reached (\(engine)): \(ranges(http))")
            XCTAssertLessThan(http.bodyBytesSent(path: "/m.bin"), data.count + (1 << 20), "the dropped range was not fetched again (\(engine))")
            server.closeStdin()
            _ = server.waitForExit()
            XCTAssertTrue(server.stderrText.contains("requests travel over \(engine)"), server.stderrText)
        }
    }

    /// One piece crawls: an idle connection takes the back half of it (it needs far longer than
    /// a split costs), the crawling connection stops at the cut, and the bytes the server wrote
    /// to its sockets stay within 1 % of the file. Pieces on pace are never split.
    func testASlowPieceIsSplitAndTheServerSendsUnderOnePercentMore() throws {
        let data = TestBytes.make(count: 8 * piece, seed: 96)
        let http = try serve(data, flaky: FlakyPiece(start: 2 * piece, trouble: .slow(bytesPerSecond: 256 << 10)))
        defer { http.stop() }
        try downloadThrottled(data, from: http)
        let asked = ranges(http)
        XCTAssertTrue(asked.contains { $0.start > 2 * piece && $0.start < 3 * piece }, "the crawling piece was split: \(asked)")
        let splits = asked.filter { $0.start % piece != 0 }
        XCTAssertTrue(splits.allSatisfy { $0.start > 2 * piece && $0.start < 3 * piece }, "only the crawling piece: \(asked)")
        let sent = http.bodyBytesSent(path: "/m.bin")
        XCTAssertLessThanOrEqual(sent, data.count + data.count / 100, "sent \(sent) for \(data.count)")
    }

    func testAStallInTheMiddleOfOneRangeIsDetectedAndResumed() throws {
        let data = TestBytes.make(count: 2 * piece + 900_000, seed: 92)
        let http = try serve(data, flaky: FlakyPiece(start: 2 * piece, trouble: .stall(after: 300_000)))
        defer { http.stop() }
        let sha = try Checksums.sha256(of: data)
        let server = try ModelPullProcess()
        server.request(1, "models/download", params(http.url("/m.bin"), ["sha256": sha, "stallSeconds": 1]))
        let (notifications, response) = server.response(to: 1, timeout: 30)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        XCTAssertEqual(try Checksums.sha256(of: directory + "/m.bin"), sha)
        XCTAssertTrue(ranges(http).contains { $0.start == 2 * piece + 300_000 }, "\(ranges(http))")
    }

    func testA503WithRetryAfterOnOneRangeIsRetried() throws {
        // The first request asks for two pieces (it learns the size); the piece after them is
        // always asked for on its own, however fast the first one arrives.
        let data = TestBytes.make(count: 3 * piece + 1, seed: 93)
        let http = try serve(data, flaky: FlakyPiece(start: 2 * piece, trouble: .status(503, retryAfter: "1")))
        defer { http.stop() }
        let sha = try Checksums.sha256(of: data)
        let server = try ModelPullProcess()
        server.request(1, "models/download", params(http.url("/m.bin"), ["sha256": sha]))
        let (notifications, response) = server.response(to: 1, timeout: 30)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        XCTAssertEqual(try Checksums.sha256(of: directory + "/m.bin"), sha)
        XCTAssertEqual(ranges(http).filter { $0.start == 2 * piece }.count, 2, "the refused range was asked for again: \(ranges(http))")
    }

    func testACorruptRangeFailsVerificationAndLeavesNothing() throws {
        let data = TestBytes.make(count: 3 * piece, seed: 94)
        let http = try serve(data, flaky: FlakyPiece(start: 2 * piece, trouble: .corrupt(at: 123_456)))
        defer { http.stop() }
        let server = try ModelPullProcess()
        server.request(1, "models/download", params(http.url("/m.bin"), ["sha256": try Checksums.sha256(of: data)]))
        let (notifications, response) = server.response(to: 1, timeout: 30)
        ProgressRules.check(notifications, response: response, expectTerminal: "error")
        XCTAssertEqual(response?.errorData?["kind"] as? String, "integrity")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/m.bin"))
        let state = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/.modelpull")) ?? []
        XCTAssertFalse(state.contains { $0.hasSuffix(".partial") || $0.hasSuffix(".ranges") }, "bad bytes are not kept: \(state)")
    }

    func testKill9ResumesEveryFinishedRangeNotJustAPrefix() throws {
        let data = TestBytes.make(count: 4 * piece, seed: 95)
        let sha = try Checksums.sha256(of: data)
        // The first range crawls, so the later ones finish while byte 0's range is still open.
        let http = try serve(data, flaky: FlakyPiece(start: 0, trouble: .slow(bytesPerSecond: 256 << 10)))
        defer { http.stop() }
        let first = try ModelPullProcess(recordTranscript: false)
        first.request(1, "models/download", params(http.url("/m.bin"), ["sha256": sha]))
        let record = directory + "/.modelpull/m.bin.partial.ranges"
        var done: [[Int]] = []
        for _ in 0..<200 where done.reduce(0, { $0 + $1[1] - $1[0] }) < 3 * piece {
            _ = first.nextMessage(timeout: 0.1)
            done = Self.doneRanges(record)
        }
        first.signal(SIGKILL)
        XCTAssertNotNil(first.waitForExit(timeout: 5))
        done = Self.doneRanges(record)
        XCTAssertTrue(done.contains { $0[0] > 0 }, "a finished range that is not a prefix: \(done)")
        let kept = done.reduce(0) { $0 + $1[1] - $1[0] }
        XCTAssertGreaterThanOrEqual(kept, 3 * piece)

        let askedBefore = ranges(http).count
        let second = try ModelPullProcess()
        second.request(1, "models/download", params(http.url("/m.bin"), ["sha256": sha]))
        let result = try XCTUnwrap(second.response(to: 1, timeout: 30).response?.resultObject)
        XCTAssertEqual(try Checksums.sha256(of: directory + "/m.bin"), sha)
        XCTAssertGreaterThanOrEqual((result["bytesReused"] as? NSNumber)?.intValue ?? 0, kept)
        let resumed = ranges(http).dropFirst(askedBefore)
        XCTAssertFalse(resumed.isEmpty)
        for range in resumed {
            XCTAssertFalse(done.contains { $0[0] < range.end && range.start < $0[1] }, "asked again for finished bytes: \(range) vs \(done)")
        }
        let state = try FileManager.default.contentsOfDirectory(atPath: directory + "/.modelpull")
        XCTAssertFalse(state.contains { $0.hasSuffix(".partial") || $0.hasSuffix(".ranges") }, "\(state)")
    }

    func testAServerThatIgnoresRangesIsFetchedInOneStream() throws {
        let data = TestBytes.make(count: 2 * piece + 7, seed: 96)
        let http = try serve(data, ranges: false)
        defer { http.stop() }
        let sha = try Checksums.sha256(of: data)
        let server = try ModelPullProcess()
        server.request(1, "models/download", params(http.url("/m.bin"), ["sha256": sha]))
        let (notifications, response) = server.response(to: 1, timeout: 30)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        XCTAssertEqual(try Checksums.sha256(of: directory + "/m.bin"), sha)
        XCTAssertLessThanOrEqual(http.requests(to: "/m.bin").count, 2, "one probe at most, then one stream")
    }

    /// The finished ranges a ranges record lists, as [start, end] pairs.
    private static func doneRanges(_ path: String) -> [[Int]] {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let done = object["done"] as? [String: Any], let ranges = done["ranges"] as? [[Int]] else { return [] }
        return ranges
    }
}

/// Misbehaves on the first GET whose range starts at `start`, in the middle of that range's body;
/// every other request is served normally.
final class FlakyPiece: @unchecked Sendable {
    enum Trouble {
        case drop(after: Int)
        case stall(after: Int)
        case corrupt(at: Int)
        case status(Int, retryAfter: String?)
        case slow(bytesPerSecond: Int)
    }

    let start: Int
    let trouble: Trouble
    private let lock = NSLock()
    private var used = false

    init(start: Int, trouble: Trouble) {
        self.start = start
        self.trouble = trouble
    }

    func respond(_ request: HTTPRequest, file: StaticFile) -> HTTPResponse {
        let normal = file.response(for: request)
        guard request.method == "GET", request.header("Range")?.hasPrefix("bytes=\(start)-") == true,
              case .bytes(let body) = normal.body, claim() else { return normal }
        switch trouble {
        case .drop(let count):
            return Self.stream(normal) { try $0.write(body.prefix(count)) }
        case .stall(let count):
            // Then silence until the server stops; the client must give up on its own.
            return Self.stream(normal) { try $0.write(body.prefix(count)); try $0.sleep(30) }
        case .corrupt(let offset):
            var bad = body
            bad[bad.startIndex + offset] ^= 0xFF
            var response = normal
            response.body = .bytes(bad)
            return response
        case .status(let code, let retryAfter):
            return .status(code, headers: retryAfter.map { ["Retry-After": $0] } ?? [:])
        case .slow(let rate):
            return Self.stream(normal) { writer in
                let step = 16 << 10
                for offset in stride(from: 0, to: body.count, by: step) {
                    try writer.write(body.subdata(in: (body.startIndex + offset)..<(body.startIndex + min(offset + step, body.count))))
                    try writer.sleep(Double(step) / Double(rate))
                }
            }
        }
    }

    private func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !used else { return false }
        used = true
        return true
    }

    /// The normal head (its Content-Length promises the whole range), with a body written by
    /// `produce`; a body shorter than promised ends with the connection closed.
    private static func stream(_ normal: HTTPResponse, _ produce: @escaping @Sendable (ResponseWriter) throws -> Void) -> HTTPResponse {
        HTTPResponse(status: normal.status, headers: normal.headers, body: .stream(produce))
    }
}
