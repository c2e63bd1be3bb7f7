import Foundation
import TestSupport
import XCTest

/// `provider: "url"` end to end: the binary, a loopback server, real files.
final class URLDownloadTests: URLTestCase {
    private func serve(_ data: Data, at path: String = "/files/model.bin", supportsRanges: Bool = true) throws -> LoopbackHTTPServer {
        let router = Router()
        router.file(path, StaticFile(data: data, supportsRanges: supportsRanges))
        return try LoopbackHTTPServer(router: router)
    }

    private func downloadParams(_ url: URL, sha256: String? = nil, extra: [String: Any] = [:]) -> [String: Any] {
        var request = params(url, extra)
        if let sha256 { request["sha256"] = sha256 }
        return request
    }

    func testDownloadCompletesVerifiedWithHonestProgress() throws {
        let data = TestBytes.make(count: 3 << 20, seed: 1)
        let http = try serve(data)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 2 << 20), for: .path("/files/model.bin"))
        let expected = try Checksums.sha256(of: data)

        let server = try ModelPullProcess()
        server.request(1, "models/download", downloadParams(http.url("/files/model.bin"), sha256: expected))
        let (notifications, response) = server.response(to: 1, timeout: 60)

        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        let result = try XCTUnwrap(response?.resultObject)
        let path = try XCTUnwrap(result["path"] as? String)
        XCTAssertEqual(path, directory + "/model.bin")
        XCTAssertEqual(try Checksums.sha256(of: path), expected)
        XCTAssertEqual((result["bytesDownloaded"] as? NSNumber)?.intValue, data.count)
        let files = try XCTUnwrap(result["files"] as? [[String: Any]])
        XCTAssertEqual(files.first?["sha256"] as? String, expected)
        XCTAssertEqual((files.first?["size"] as? NSNumber)?.intValue, data.count)

        let events = ProgressRules.progressParams(notifications)
        XCTAssertTrue(events.contains { $0["status"] as? String == "downloading" && ($0["downloadedBytes"] as? Int ?? 0) > 0 })
        XCTAssertTrue(events.contains { $0["bytesPerSecond"] != nil }, "speed is reported")
        XCTAssertTrue(events.contains { $0["etaSeconds"] != nil }, "ETA is reported")
        XCTAssertTrue(events.contains { $0["status"] as? String == "verifying" })
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/.modelpull")
        XCTAssertFalse(leftovers.contains { $0.hasSuffix(".partial") }, "no partial left after success: \(leftovers)")
    }

    func testChecksumMismatchIsAnIntegrityErrorAndLeavesNoFile() throws {
        let http = try serve(TestBytes.make(count: 100_000, seed: 2))
        defer { http.stop() }
        let server = try ModelPullProcess()
        server.request("bad", "models/download", downloadParams(http.url("/files/model.bin"), sha256: String(repeating: "ab", count: 32)))
        let (notifications, response) = server.response(to: "bad")
        ProgressRules.check(notifications, response: response, expectTerminal: "error")
        XCTAssertEqual(response?.errorCode, 1010)
        XCTAssertEqual(response?.errorData?["kind"] as? String, "integrity")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/model.bin"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/.modelpull/model.bin.partial"),
                       "bad bytes are not kept for resuming")
    }

    func testCorruptedBytesFailVerification() throws {
        let data = TestBytes.make(count: 200_000, seed: 3)
        let http = try serve(data)
        defer { http.stop() }
        http.faults.add(.corrupt(offsets: [1234]), for: .path("/files/model.bin"), times: .always)
        let server = try ModelPullProcess()
        server.request(1, "models/download", downloadParams(http.url("/files/model.bin"), sha256: try Checksums.sha256(of: data)))
        XCTAssertEqual(server.response(to: 1).response?.errorData?["kind"] as? String, "integrity")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/model.bin"))
    }

    func testDroppedConnectionResumesFromTheBytesReached() throws {
        let data = TestBytes.make(count: 2 << 20, seed: 4)
        let http = try serve(data)
        defer { http.stop() }
        http.faults.add(.dropAfter(bytes: 700_000), for: .path("/files/model.bin"))
        let server = try ModelPullProcess()
        server.request(1, "models/download", downloadParams(http.url("/files/model.bin"), sha256: try Checksums.sha256(of: data)))
        let (notifications, response) = server.response(to: 1)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        XCTAssertEqual(http.bodyBytesSent(path: "/files/model.bin"), data.count, "the retry asked only for the missing bytes")
        let ranges = http.requests(to: "/files/model.bin").compactMap { $0.header("Range") }
        XCTAssertEqual(ranges.last?.hasPrefix("bytes=700000-"), true, "\(ranges)")
    }

    func testServerErrorsAreRetriedWithBackoff() throws {
        let data = TestBytes.make(count: 50_000, seed: 5)
        let http = try serve(data)
        defer { http.stop() }
        http.faults.addSequence([[.status(503)], [.status(500)], [.status(429, retryAfter: "0")], []],
                                for: .path("/files/model.bin"))
        let server = try ModelPullProcess()
        server.request(1, "models/download", downloadParams(http.url("/files/model.bin")))
        let (notifications, response) = server.response(to: 1)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        XCTAssertEqual(http.requests(to: "/files/model.bin").count, 4)
    }

    func testMissingFileIsNotFound() throws {
        let http = try serve(Data("x".utf8))
        defer { http.stop() }
        let server = try ModelPullProcess()
        server.request(1, "models/download", downloadParams(http.url("/files/missing.bin")))
        let response = try XCTUnwrap(server.response(to: 1).response)
        XCTAssertEqual(response.errorCode, 1003)
        XCTAssertEqual(response.errorData?["kind"] as? String, "not_found")
        XCTAssertEqual(response.errorData?["retryable"] as? Bool, false)
    }

    func testCancelStopsTheTransferAndARerunResumes() throws {
        let data = TestBytes.make(count: 3 << 20, seed: 6)
        let http = try serve(data)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 1 << 20), for: .path("/files/model.bin"))
        let expected = try Checksums.sha256(of: data)
        let server = try ModelPullProcess()
        server.request(1, "models/download", downloadParams(http.url("/files/model.bin"), sha256: expected))
        var downloadId: String?
        while let message = server.nextMessage(timeout: 10) {
            if let params = message.params, (params["downloadedBytes"] as? Int ?? 0) > 300_000 {
                downloadId = params["downloadId"] as? String
                break
            }
        }
        let id = try XCTUnwrap(downloadId)
        server.request(2, "downloads/cancel", ["downloadId": id])
        var cancelAnswer: WireMessage?
        var downloadAnswer: WireMessage?
        var notifications: [WireMessage] = []
        while cancelAnswer == nil || downloadAnswer == nil, let message = server.nextMessage(timeout: 5) {
            if message.idDescription == "2" { cancelAnswer = message } else if message.idDescription == "1" { downloadAnswer = message } else { notifications.append(message) }
        }
        XCTAssertEqual(cancelAnswer?.resultObject?["cancelled"] as? Bool, true)
        XCTAssertEqual(downloadAnswer?.errorData?["kind"] as? String, "cancelled")
        XCTAssertEqual(downloadAnswer?.errorData?["status"] as? String, "cancelled")
        XCTAssertEqual(ProgressRules.progressParams(notifications).last?["status"] as? String, "cancelled")
        let sentBeforeCancel = http.bodyBytesSent(path: "/files/model.bin")
        XCTAssertLessThan(sentBeforeCancel, data.count)
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertLessThan(http.bodyBytesSent(path: "/files/model.bin") - sentBeforeCancel, 200_000, "the transfer stopped")

        http.faults.removeAll()
        server.request(3, "models/download", downloadParams(http.url("/files/model.bin"), sha256: expected))
        let rerun = try XCTUnwrap(server.response(to: 3).response?.resultObject)
        XCTAssertGreaterThan((rerun["bytesReused"] as? NSNumber)?.intValue ?? 0, 0)
        XCTAssertLessThanOrEqual(http.bodyBytesSent(path: "/files/model.bin"), data.count + 300_000,
                                 "the rerun resumed instead of restarting")
        XCTAssertEqual(try Checksums.sha256(of: directory + "/model.bin"), expected)
    }

    func testIdenticalRequestsShareOneJob() throws {
        let data = TestBytes.make(count: 1 << 20, seed: 7)
        let http = try serve(data)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 1 << 20), for: .path("/files/model.bin"))
        let server = try ModelPullProcess()
        let params = downloadParams(http.url("/files/model.bin"))
        server.request("a", "models/download", params)
        server.request("b", "models/download", params)
        var responses: [String: WireMessage] = [:]
        var events: [String: [[String: Any]]] = [:]
        while responses.count < 2, let message = server.nextMessage(timeout: 20) {
            if message.isResponse { responses[message.idDescription ?? ""] = message; continue }
            if let params = message.params, let requestId = params["requestId"] as? String {
                events[requestId, default: []].append(params)
            }
        }
        let a = try XCTUnwrap(responses["\"a\""]?.resultObject)
        let b = try XCTUnwrap(responses["\"b\""]?.resultObject)
        XCTAssertEqual(a["downloadId"] as? String, b["downloadId"] as? String)
        XCTAssertEqual(events["a"]?.last?["status"] as? String, "complete")
        XCTAssertEqual(events["b"]?.last?["status"] as? String, "complete")
        XCTAssertEqual(http.requests(to: "/files/model.bin").count, 1, "one transfer for both requests")
    }

    func testJobsBeyondTheLimitAreQueued() throws {
        let router = Router()
        router.file("/one.bin", StaticFile(data: TestBytes.make(count: 400_000, seed: 8)))
        router.file("/two.bin", StaticFile(data: TestBytes.make(count: 400_000, seed: 9)))
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 400_000), for: .path("/one.bin"))
        let server = try ModelPullProcess(arguments: ["serve", "--max-concurrent", "1"])
        server.request(1, "models/download", downloadParams(http.url("/one.bin")))
        _ = server.nextMessage()
        server.request(2, "models/download", downloadParams(http.url("/two.bin")))
        var firstStatusOfSecond: String?
        var done = 0
        while done < 2, let message = server.nextMessage(timeout: 20) {
            if message.isResponse, ["1", "2"].contains(message.idDescription) { done += 1; continue }
            if let params = message.params, params["requestId"] as? Int == 2, firstStatusOfSecond == nil {
                firstStatusOfSecond = params["status"] as? String
                server.request(3, "downloads/list")
            }
            if message.idDescription == "3" {
                let list = message.resultObject?["downloads"] as? [[String: Any]] ?? []
                XCTAssertEqual(list.count, 2)
            }
        }
        XCTAssertEqual(firstStatusOfSecond, "queued")
        XCTAssertEqual(done, 2)
    }

    func testCompletedFileIsReusedWithoutTraffic() throws {
        let data = TestBytes.make(count: 120_000, seed: 10)
        let http = try serve(data)
        defer { http.stop() }
        let server = try ModelPullProcess()
        let params = downloadParams(http.url("/files/model.bin"), sha256: try Checksums.sha256(of: data))
        server.request(1, "models/download", params)
        XCTAssertNotNil(server.response(to: 1).response?.resultObject)
        let requestsAfterFirst = http.requestCount
        server.request(2, "models/download", params)
        let (notifications, response) = server.response(to: 2)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        XCTAssertEqual((response?.resultObject?["bytesReused"] as? NSNumber)?.intValue, data.count)
        XCTAssertEqual((response?.resultObject?["bytesDownloaded"] as? NSNumber)?.intValue, 0)
        XCTAssertEqual(http.requestCount, requestsAfterFirst)
    }

    func testServerWithoutRangeSupportStillCompletes() throws {
        let data = TestBytes.make(count: 300_000, seed: 11)
        let http = try serve(data, supportsRanges: false)
        defer { http.stop() }
        let server = try ModelPullProcess()
        server.request(1, "models/download", downloadParams(http.url("/files/model.bin"), sha256: try Checksums.sha256(of: data)))
        XCTAssertNotNil(server.response(to: 1).response?.resultObject)
    }

    func testTokenNeverFollowsARedirectToAnotherHost() throws {
        let data = TestBytes.make(count: 10_000, seed: 12)
        let cdn = try serve(data, at: "/blob")
        defer { cdn.stop() }
        let origin = try LoopbackHTTPServer { _ in .redirect(to: cdn.url("/blob").absoluteString, status: 302) }
        defer { origin.stop() }
        let server = try ModelPullProcess()
        server.request(1, "models/download", downloadParams(origin.url("/model.bin"), extra: ["token": "hf_secret_token_123"]))
        XCTAssertNotNil(server.response(to: 1).response?.resultObject)
        XCTAssertEqual(origin.requests(withHeader: "Authorization").first?.header("Authorization"), "Bearer hf_secret_token_123")
        XCTAssertTrue(cdn.requests(withHeader: "Authorization").isEmpty, "the CDN must never see the token")
        XCTAssertFalse(cdn.requests.isEmpty)
        server.closeStdin()
        _ = server.waitForExit()
        XCTAssertFalse(server.stderrText.contains("hf_secret_token_123"))
    }

    func testRedirectLoopIsAnError() throws {
        let loop = try LoopbackHTTPServer { request in .redirect(to: request.path == "/a" ? "/b" : "/a", status: 302) }
        defer { loop.stop() }
        let server = try ModelPullProcess()
        server.request(1, "models/download", downloadParams(loop.url("/a"), extra: ["fileName": "x.bin"]))
        let response = try XCTUnwrap(server.response(to: 1, timeout: 30).response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "upstream")
        XCTAssertTrue((response.error?["message"] as? String ?? "").contains("redirect"), "\(response)")
    }

    func testStdinClosedMidDownloadExitsPromptlyKeepingThePartial() throws {
        let data = TestBytes.make(count: 4 << 20, seed: 13)
        let http = try serve(data)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 1 << 20), for: .path("/files/model.bin"))
        let server = try ModelPullProcess()
        server.request(1, "models/download", downloadParams(http.url("/files/model.bin")))
        while let message = server.nextMessage(timeout: 10), (message.params?["downloadedBytes"] as? Int ?? 0) < 200_000 {}
        server.closeStdin()
        XCTAssertEqual(server.response(to: 1).response?.errorData?["kind"] as? String, "cancelled")
        XCTAssertEqual(server.waitForExit(timeout: 10), 0, "the process ends on stdin EOF")
        let partial = try FileManager.default.attributesOfItem(atPath: directory + "/.modelpull/model.bin.partial")
        XCTAssertGreaterThan((partial[.size] as? NSNumber)?.intValue ?? 0, 0, "the partial stays for resuming")
    }
}
