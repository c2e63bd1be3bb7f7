import Foundation
import TestSupport
import XCTest

/// Faults, crashes, full disks and load, through the binary with the url provider. Each test
/// backs one promise of README's "Guarantees".
final class ReliabilityTests: URLTestCase {
    private func serve(_ files: [String: Data], ranges: Bool = true, chunked: Bool = false) throws -> LoopbackHTTPServer {
        let router = Router()
        for (path, data) in files {
            router.file(path, StaticFile(data: data, supportsRanges: ranges, transfer: chunked ? .chunked(chunkSize: 64 << 10) : .contentLength))
        }
        return try LoopbackHTTPServer(router: router)
    }

    func testAStalledBodyIsDetectedAndResumed() throws {
        let data = TestBytes.make(count: 600_000, seed: 50)
        let http = try serve(["/m.bin": data])
        defer { http.stop() }
        http.faults.add(.stall(afterBytes: 200_000, seconds: 30, then: .close), for: .path("/m.bin"))
        let server = try ModelPullProcess()
        server.request(1, "models/download", params(http.url("/m.bin"), ["stallSeconds": 1, "sha256": try Checksums.sha256(of: data)]))
        let (notifications, response) = server.response(to: 1, timeout: 20)
        ProgressRules.check(notifications, response: response, expectTerminal: "complete")
        let ranges = http.requests(to: "/m.bin").compactMap { $0.header("Range") }
        XCTAssertEqual(ranges.count, 2, "one stalled request, one resume: \(ranges)")
        XCTAssertEqual(ranges.last?.hasPrefix("bytes=200000-"), true, "\(ranges)")
    }

    func testKill9MidDownloadThenTheSameRequestResumesToIdenticalBytes() throws {
        let data = TestBytes.make(count: 3 << 20, seed: 51)
        let sha = try Checksums.sha256(of: data)
        let http = try serve(["/m.bin": data])
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 1 << 20), for: .path("/m.bin"))

        // Killed mid-request, so its transcript has a request without an answer by design.
        let first = try ModelPullProcess(recordTranscript: false)
        first.request(1, "models/download", params(http.url("/m.bin"), ["sha256": sha]))
        while let message = first.nextMessage(timeout: 10), (message.params?["downloadedBytes"] as? Int ?? 0) < 500_000 {}
        first.signal(SIGKILL)
        XCTAssertNotNil(first.waitForExit(timeout: 5))
        let sentBeforeKill = http.bodyBytesSent(path: "/m.bin")

        let second = try ModelPullProcess()
        second.request(1, "models/download", params(http.url("/m.bin"), ["sha256": sha]))
        let result = try XCTUnwrap(second.response(to: 1, timeout: 30).response?.resultObject)
        XCTAssertEqual(try Checksums.sha256(of: directory + "/m.bin"), sha)
        XCTAssertGreaterThan((result["bytesReused"] as? Int) ?? 0, 0, "the second run resumed")
        // At most what was in flight when the process died is fetched twice.
        XCTAssertLessThan(http.bodyBytesSent(path: "/m.bin") - data.count, sentBeforeKill)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/.modelpull")
        XCTAssertEqual(leftovers.filter { $0.hasSuffix(".partial") || $0.hasSuffix(".tmp") || $0.hasSuffix(".partial.json") }, [],
                       "no temporary files after success: \(leftovers)")
    }

    func testSIGTERMMidDownloadExitsPromptlyWithAResumablePartial() throws {
        let data = TestBytes.make(count: 3 << 20, seed: 52)
        let http = try serve(["/m.bin": data])
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 1 << 20), for: .path("/m.bin"))
        let server = try ModelPullProcess()
        server.request(1, "models/download", params(http.url("/m.bin")))
        while let message = server.nextMessage(timeout: 10), (message.params?["downloadedBytes"] as? Int ?? 0) < 300_000 {}
        server.signal(SIGTERM)
        XCTAssertEqual(server.response(to: 1).response?.errorData?["kind"] as? String, "cancelled")
        XCTAssertEqual(server.waitForExit(timeout: 2.5), 0)
        let partialSize = (try FileManager.default.attributesOfItem(atPath: directory + "/.modelpull/m.bin.partial")[.size] as? Int) ?? 0
        XCTAssertGreaterThan(partialSize, 0)
    }

    // MARK: Disk full

    private func mountSmallDisk(megabytes: Int) throws -> String {
        try mountSmallDisk(megabytes: megabytes, at: directory + "/small-disk")
    }

    func testThePreflightRefusesADownloadThatCannotFit() throws {
        let disk = try mountSmallDisk(megabytes: 4)
        let http = try serve(["/big.bin": TestBytes.make(count: 6 << 20, seed: 53)])
        defer { http.stop() }
        let server = try ModelPullProcess()
        server.request(1, "models/download", ["provider": "url", "model": http.url("/big.bin").absoluteString, "localDir": disk])
        let response = try XCTUnwrap(server.response(to: 1).response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "disk_full")
        XCTAssertTrue((response.error?["message"] as? String ?? "").contains("Not enough disk space"), "\(response)")
        let partial = (try? FileManager.default.attributesOfItem(atPath: disk + "/.modelpull/big.bin.partial"))?[.size] as? Int
        XCTAssertEqual(partial ?? 0, 0, "refused before writing a byte")
        XCTAssertFalse(FileManager.default.fileExists(atPath: disk + "/big.bin"))
        server.request(2, "hello")
        XCTAssertNotNil(server.response(to: 2).response?.resultObject, "still serving")
    }

    func testRunningOutOfSpaceMidWriteIsACleanDiskFullError() throws {
        let disk = try mountSmallDisk(megabytes: 2)
        // No length and no ranges: the size is unknown until the disk fills.
        let http = try serve(["/stream.bin": TestBytes.make(count: 5 << 20, seed: 54)], ranges: false, chunked: true)
        defer { http.stop() }
        let server = try ModelPullProcess()
        server.request(1, "models/download", ["provider": "url", "model": http.url("/stream.bin").absoluteString, "localDir": disk])
        let (notifications, response) = server.response(to: 1, timeout: 30)
        ProgressRules.check(notifications, response: response, expectTerminal: "error")
        XCTAssertEqual(response?.errorData?["kind"] as? String, "disk_full")
        XCTAssertFalse(FileManager.default.fileExists(atPath: disk + "/stream.bin"), "nothing half-visible under the final name")
        server.request(2, "hello")
        XCTAssertNotNil(server.response(to: 2).response?.resultObject, "still serving")
    }

    // MARK: Load

    func testFiftyConcurrentRequestsWithCancellationsRacingAndAPausedReader() throws {
        var files: [String: Data] = [:]
        for index in 0..<10 { files["/f\(index).bin"] = TestBytes.make(count: 200_000 + index * 10_000, seed: UInt64(60 + index)) }
        let http = try serve(files)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 400_000), for: .prefix("/f"), times: .always)
        let server = try ModelPullProcess(arguments: ["serve", "--max-concurrent", "4"])
        for request in 0..<50 {
            server.request(request, "models/download", params(http.url("/f\(request % 10).bin")))
        }
        // Cancel some requests straight away and some later, racing their completion.
        for request in stride(from: 0, to: 50, by: 7) { server.notify("$/cancelRequest", ["id": request]) }
        // Stop reading for a while: the server must neither block nor lose anything.
        Thread.sleep(forTimeInterval: 1.5)
        for request in stride(from: 3, to: 50, by: 11) { server.notify("$/cancelRequest", ["id": request]) }

        var responses: [Int: Int] = [:]
        var terminals: [Int: Int] = [:]
        var outcomes: [Int: String] = [:]
        while responses.count < 50, let message = server.nextMessage(timeout: 60) {
            if message.isResponse, let id = Int(message.idDescription ?? "") {
                responses[id, default: 0] += 1
                outcomes[id] = message.resultObject != nil ? "complete" : message.errorData?["kind"] as? String
            } else if let params = message.params, let id = params["requestId"] as? Int,
                      ["complete", "error", "cancelled"].contains(params["status"] as? String ?? "") {
                terminals[id, default: 0] += 1
                XCTAssertNil(responses[id], "the terminal event comes before the response (request \(id))")
            }
        }
        XCTAssertEqual(responses.count, 50)
        XCTAssertTrue(responses.values.allSatisfy { $0 == 1 }, "one response each")
        XCTAssertEqual(terminals.count, 50)
        XCTAssertTrue(terminals.values.allSatisfy { $0 == 1 }, "one terminal event each: \(terminals.filter { $0.value != 1 })")
        XCTAssertTrue(outcomes.values.allSatisfy { $0 == "complete" || $0 == "cancelled" }, "\(outcomes)")
        XCTAssertEqual(outcomes[1], "complete")
        server.request(99, "downloads/list")
        XCTAssertEqual((server.response(to: 99).response?.resultObject?["downloads"] as? [Any])?.count, 0, "nothing left running")
    }

    // MARK: Secrets

    func testTheTokenNeverAppearsInOutputLogsOrFiles() throws {
        let token = "hf_SuperSecretToken_do_not_leak_42"
        let data = TestBytes.make(count: 50_000, seed: 70)
        let cdn = try serve(["/blob": data])
        defer { cdn.stop() }
        let origin = try LoopbackHTTPServer { request in
            switch request.path {
            case "/redirect.bin": return .redirect(to: cdn.url("/blob").absoluteString)
            case "/private.bin": return .status(401)
            case "/forbidden.bin": return .status(403)
            case "/broken.bin": return .status(500)
            default: return .notFound()
            }
        }
        defer { origin.stop() }
        let server = try ModelPullProcess(arguments: ["serve", "--log-level", "trace"])
        let cases = ["/redirect.bin", "/private.bin", "/forbidden.bin", "/broken.bin", "/missing.bin"]
        for (index, path) in cases.enumerated() {
            server.request(index, "models/download", params(origin.url(path), ["token": token, "fileName": "f\(index).bin"]))
        }
        server.request(10, "models/download", params(origin.url("/redirect.bin"), ["token": token, "fileName": "bad.bin", "sha256": String(repeating: "0", count: 64)]))
        server.request(11, "models/download", params(URL(string: "http://127.0.0.1:1/refused.bin")!, ["token": token]))
        var output: [String] = []
        var answered = 0
        while answered < cases.count + 2, let line = server.nextLine(timeout: 60) {
            output.append(line)
            if WireMessage(line: line)?.isResponse == true { answered += 1 }
        }
        XCTAssertEqual(answered, cases.count + 2)
        server.closeStdin()
        _ = server.waitForExit()
        XCTAssertFalse(output.joined().contains(token), "stdout leaks the token")
        XCTAssertFalse(server.stderrText.contains(token), "stderr leaks the token")
        XCTAssertTrue(cdn.requests(withHeader: "Authorization").isEmpty, "the token travelled to another host")
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let file = enumerator?.nextObject() as? String {
            let contents = FileManager.default.contents(atPath: directory + "/" + file) ?? Data()
            XCTAssertNil(contents.range(of: Data(token.utf8)), "\(file) contains the token")
        }
    }
}
