import Foundation
import TestSupport
import XCTest

/// Fifty downloads at once across the url, huggingface and ollama providers, cancellations
/// racing completions, and a client that stops reading stdout for a while: every request still
/// gets exactly one terminal event and one response, and the process's peak memory stays
/// bounded.
final class LoadTests: HuggingFaceTestCase {
    func testFiftyRequestsAcrossProvidersWithCancellationsAndAPausedReaderStayBounded() throws {
        let router = Router()
        for index in 0..<10 { router.file("/f\(index).bin", StaticFile(data: TestBytes.make(count: 300_000 + index * 10_000, seed: UInt64(200 + index)))) }
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 600_000), for: .prefix("/f"), times: .always)
        for index in 0..<5 {
            fake.addRepo("acme/load\(index)", files: [.text("config.json", "{\"n\": \(index)}"),
                                                      .lfs("model.safetensors", TestBytes.make(count: 400_000, seed: UInt64(210 + index)))])
        }
        fake.cdn.faults.add(.rateLimit(bytesPerSecond: 600_000), for: .prefix("/repos/"), times: .always)
        let ollama = try FakeOllama()
        defer { ollama.stop() }
        for index in 0..<5 { ollama.setScenario(.typical(seed: 20 + index), for: "load\(index):1b") }

        let local = root + "/url"
        let server = try launch(arguments: ["serve", "--max-concurrent", "8"])
        for request in 0..<50 {
            let params: [String: Any]
            switch request % 5 {
            case 0, 1:
                params = ["provider": "url", "model": http.url("/f\(request % 10).bin").absoluteString, "localDir": local]
            case 2, 3:
                // Two shapes per repo: separate jobs that meet at the same blob locks.
                params = self.params("acme/load\(request / 5 % 5)", request % 5 == 2 ? [:] : ["include": ["*.safetensors"]])
            default:
                params = ["provider": "ollama", "model": "load\(request / 10 % 5):1b", "baseUrl": ollama.baseURL]
            }
            server.request(request, "models/download", params)
        }
        for request in stride(from: 0, to: 50, by: 7) { server.notify("$/cancelRequest", ["id": request]) }
        // Stop reading for a while: the server must neither block nor lose anything.
        Thread.sleep(forTimeInterval: 1.5)
        for request in stride(from: 3, to: 50, by: 11) { server.notify("$/cancelRequest", ["id": request]) }

        var responses: [Int: Int] = [:]
        var terminals: [Int: Int] = [:]
        var outcomes: [Int: String] = [:]
        var lastBytes: [Int: Int64] = [:]
        while responses.count < 50, let message = server.nextMessage(timeout: 60) {
            if message.isResponse, let id = Int(message.idDescription ?? "") {
                responses[id, default: 0] += 1
                outcomes[id] = message.resultObject != nil ? "complete" : message.errorData?["kind"] as? String
            } else if let params = message.params, let id = params["requestId"] as? Int {
                let bytes = number(params["downloadedBytes"]) ?? 0
                XCTAssertGreaterThanOrEqual(bytes, lastBytes[id] ?? 0, "request \(id): progress went back")
                lastBytes[id] = bytes
                if ["complete", "error", "cancelled"].contains(params["status"] as? String ?? "") {
                    terminals[id, default: 0] += 1
                    XCTAssertNil(responses[id], "the terminal event comes before the response (request \(id))")
                }
            }
        }
        XCTAssertEqual(responses.count, 50)
        XCTAssertTrue(responses.values.allSatisfy { $0 == 1 }, "one response each")
        XCTAssertEqual(terminals.count, 50)
        XCTAssertTrue(terminals.values.allSatisfy { $0 == 1 }, "one terminal event each: \(terminals.filter { $0.value != 1 })")
        XCTAssertTrue(outcomes.values.allSatisfy { $0 == "complete" || $0 == "cancelled" }, "\(outcomes.filter { $0.value != "complete" && $0.value != "cancelled" })")
        for provider in [1, 2, 4] { XCTAssertEqual(outcomes[provider], "complete", "request \(provider)") }
        server.request(99, "downloads/list")
        XCTAssertEqual((server.response(to: 99).response?.resultObject?["downloads"] as? [Any])?.count, 0, "nothing left running")

        if ProcessMemory.isMeasurable {
            let peak = try XCTUnwrap(server.peakResidentBytes)
            XCTAssertLessThan(peak, HostileServerTests.memoryBound, "peak RSS \(peak >> 20) MB")
        }
    }
}
