import Foundation
@testable import ModelPullCore
import TestSupport
import XCTest

/// File bodies travel over libcurl (where it loads) or URLSession (the fallback). Every case
/// here runs the same request through `HTTPClient.streamBody` on both engines against a loopback
/// server and asserts the same observable contract: bytes, heads, redirects and tokens, error
/// pages, stalls, drops, refusals and cancellation.
final class TransferEngineTests: XCTestCase {
    private typealias Request = ModelPullCore.HTTPRequest

    private var engines: [TransferEngine] {
        TransferEngine.choose(ProcessEnvironment(["MODELPULL_TRANSFER_ENGINE": "libcurl"])).engine == .libcurl
            ? [.libcurl, .urlsession] : [.urlsession]
    }

    /// A loopback server with `data` at `path`, ranges and ETag included.
    private static func serving(_ data: Data, at path: String) throws -> LoopbackHTTPServer {
        let router = Router()
        router.file(path, StaticFile(data: data))
        return try LoopbackHTTPServer(router: router)
    }

    func testTheDefaultIsLibcurlOnLinuxAndTheVariableChooses() {
        #if os(Linux)
        XCTAssertEqual(TransferEngine.choose(ProcessEnvironment([:])).engine, .libcurl, "libcurl.so.4 is what FoundationNetworking links")
        #endif
        XCTAssertEqual(TransferEngine.choose(ProcessEnvironment(["MODELPULL_TRANSFER_ENGINE": "URLSession"])).engine, .urlsession)
        let unknown = TransferEngine.choose(ProcessEnvironment(["MODELPULL_TRANSFER_ENGINE": "carrier-pigeon"]))
        XCTAssertTrue(unknown.note?.contains("carrier-pigeon") == true, "an unknown value is named in a warning")
    }

    func testARangeArrivesWholeWithItsHead() async throws {
        let data = TestBytes.make(count: 3 << 20, seed: 11)
        let server = try Self.serving(data, at: "/f.bin")
        defer { server.stop() }
        for engine in engines {
            let request = Request(url: server.url("/f.bin"), headers: ["Range": "bytes=1000-2099999"])
            let got = await fetchBody(engine, request)
            XCTAssertNil(got.error, "\(engine)")
            XCTAssertEqual(got.result?.head.status, 206, "\(engine)")
            XCTAssertEqual(got.heads.count, 1, "onHead once: \(engine)")
            XCTAssertEqual(got.result?.head.headers["content-range"], "bytes 1000-2099999/\(data.count)", "\(engine)")
            XCTAssertEqual(got.body, data[1000..<2_100_000], "\(engine)")
        }
        XCTAssertTrue(server.requests.allSatisfy { $0.header("Accept-Encoding") == "identity" })
        XCTAssertTrue(server.requests.allSatisfy { $0.header("User-Agent") == "modelpull-tests" })
    }

    func testAChunkedBodyIsDecoded() async throws {
        let parts = (0..<5).map { TestBytes.make(count: 70_000 + $0, seed: UInt64(20 + $0)) }
        let server = try LoopbackHTTPServer { _ in TestSupport.HTTPResponse(body: .chunked(parts)) }
        defer { server.stop() }
        for engine in engines {
            let got = await fetchBody(engine, Request(url: server.url("/c")))
            XCTAssertEqual(got.body, parts.reduce(Data(), +), "\(engine)")
        }
    }

    func testRedirectsKeepTheTokenAtHomeAndDropItForGoodOnceTheyLeave() async throws {
        let data = TestBytes.make(count: 200_000, seed: 12)
        let cdn = try LoopbackHTTPServer { request in
            request.path == "/bounce" ? .redirect(to: "/blob") : .bytes(data)
        }
        defer { cdn.stop() }
        let hub = try LoopbackHTTPServer { request in
            switch request.path {
            case "/same": return .redirect(to: "/cross")
            case "/cross": return .redirect(to: cdn.url("/bounce").absoluteString)
            default: return .notFound()
            }
        }
        defer { hub.stop() }
        for engine in engines {
            hub.clearRequestLog(); cdn.clearRequestLog()
            let got = await fetchBody(engine, Request(url: hub.url("/same"), headers: ["Authorization": "Bearer hf_secret"]))
            XCTAssertEqual(got.body, data, "\(engine)")
            XCTAssertEqual(got.result?.head.url.path, "/blob", "the head names the URL that answered: \(engine)")
            XCTAssertEqual(got.heads.count, 1, "redirect heads are not handed over: \(engine)")
            XCTAssertEqual(hub.requests.map { $0.header("Authorization") }, ["Bearer hf_secret", "Bearer hf_secret"], "\(engine)")
            XCTAssertEqual(cdn.requests.map { $0.path }, ["/bounce", "/blob"], "\(engine)")
            XCTAssertTrue(cdn.requests.allSatisfy { $0.header("Authorization") == nil }, "the token never reaches the CDN: \(engine)")

            let stopped = await fetchBody(engine, Request(url: hub.url("/cross"), redirects: .stopAtCrossOrigin))
            XCTAssertEqual(stopped.result?.head.status, 302, "\(engine)")
            XCTAssertEqual(stopped.result?.head.headers["Location"], cdn.url("/bounce").absoluteString, "\(engine)")
            XCTAssertEqual(stopped.heads.map(\.status), [302], "the head that ends the chain: \(engine)")
            XCTAssertTrue(stopped.body.isEmpty, "a 3xx is not a body: \(engine)")
        }
    }

    func testARedirectLoopEndsAsTooManyRedirects() async throws {
        let server = try LoopbackHTTPServer { request in .redirect(to: request.path == "/a" ? "/b" : "/a") }
        defer { server.stop() }
        for engine in engines {
            let got = await fetchBody(engine, Request(url: server.url("/a")))
            guard case .tooManyRedirects? = got.error as? TransferError else {
                return XCTFail("\(engine): \(String(describing: got.error))")
            }
            XCTAssertLessThanOrEqual(server.requests.count, 12 * engines.count)
        }
    }

    func testAnErrorPageIsKeptForTheMessageAndAnEndlessOneIsCut() async throws {
        let server = try LoopbackHTTPServer { request in
            if request.path == "/endless" {
                return TestSupport.HTTPResponse(status: 500, body: .stream { writer in
                    for _ in 0..<4_000 { try writer.write(Data(repeating: 0x41, count: 16 << 10)) }
                })
            }
            return .text("no such file, check the name", status: 404)
        }
        defer { server.stop() }
        for engine in engines {
            let missing = await fetchBody(engine, Request(url: server.url("/missing")))
            XCTAssertEqual(missing.result?.head.status, 404, "\(engine)")
            XCTAssertEqual(missing.result?.errorBody.map { String(decoding: $0, as: UTF8.self) }, "no such file, check the name", "\(engine)")
            XCTAssertEqual(missing.heads.map(\.status), [404], "\(engine)")
            XCTAssertTrue(missing.body.isEmpty, "an error page is not the file: \(engine)")

            let endless = await fetchBody(engine, Request(url: server.url("/endless")), errorBodyLimit: 100_000)
            XCTAssertEqual(endless.result?.head.status, 500, "\(engine): \(String(describing: endless.error))")
            XCTAssertEqual(endless.result?.errorBody?.count, 100_000, "\(engine)")
            XCTAssertLessThan(endless.seconds, 10, "\(engine)")
        }
    }

    func testAStallEndsAsStalledAfterTheIdleTimeout() async throws {
        let data = TestBytes.make(count: 1 << 20, seed: 13)
        let server = try Self.serving(data, at: "/f.bin")
        defer { server.stop() }
        for engine in engines {
            server.faults.add(.stall(afterBytes: 100_000, seconds: 30, then: .close), for: .path("/f.bin"))
            let got = await fetchBody(engine, Request(url: server.url("/f.bin"), idleTimeout: 1))
            guard case .stalled? = got.error as? TransferError else {
                return XCTFail("\(engine): \(String(describing: got.error))")
            }
            XCTAssertEqual(got.body.count, 100_000, "\(engine)")
            XCTAssertLessThan(got.seconds, 10, "\(engine)")
        }
    }

    func testADroppedConnectionIsANetworkErrorAfterTheBytesThatCame() async throws {
        let data = TestBytes.make(count: 1 << 20, seed: 14)
        let server = try Self.serving(data, at: "/f.bin")
        defer { server.stop() }
        for engine in engines {
            server.faults.add(.dropAfter(bytes: 300_000), for: .path("/f.bin"))
            let got = await fetchBody(engine, Request(url: server.url("/f.bin")))
            guard case .network? = got.error as? TransferError else {
                return XCTFail("\(engine): \(String(describing: got.error))")
            }
            XCTAssertEqual(got.body, data.prefix(300_000), "\(engine)")
        }
    }

    func testARefusingConsumerStopsTheTransferWithItsOwnError() async throws {
        let data = TestBytes.make(count: 8 << 20, seed: 15)
        let server = try Self.serving(data, at: "/f.bin")
        defer { server.stop() }
        for engine in engines {
            server.resetByteCounters()
            let got = await fetchBody(engine, Request(url: server.url("/f.bin")), refuseAfter: 1)
            XCTAssertTrue(got.error is RefusedByTest, "\(engine): \(String(describing: got.error))")
            XCTAssertLessThan(got.body.count, 1 << 20, "no byte handed over after the refusal: \(engine)")
        }
    }

    /// TLS runs on both engines, with certificates verified: a server whose certificate nobody
    /// trusts gets no request through, and the error says why.
    func testAnUntrustedCertificateIsRefusedBeforeAnyByte() async throws {
        let server = try TLSTestServer()
        defer { server.stop() }
        for engine in engines {
            let got = await fetchBody(engine, Request(url: server.url("/weights.bin"), headers: ["Authorization": "Bearer hf_secret"]))
            XCTAssertTrue(got.heads.isEmpty && got.body.isEmpty, "\(engine)")
            switch got.error as? TransferError {
            case .untrustedCertificate(let host, let reason, let advice)? where engine == .libcurl:
                XCTAssertEqual(host, "127.0.0.1")
                XCTAssertTrue(reason.lowercased().contains("certificate"), "says why: \(reason)")
                XCTAssertTrue(advice.contains("SSL_CERT_FILE"), "says what to set: \(advice)")
            case .network? where engine == .urlsession:
                break
            default:
                XCTFail("\(engine): \(String(describing: got.error)) \(got.body.count) bytes")
            }
        }
    }

    /// The reason for the libcurl engine's design: a consumer that stops (a disk slower than the
    /// network) stops the socket reads, so the server can get only socket buffers ahead of it.
    /// (URLSession on Linux reads on into memory; that is why its requests are kept small.)
    func testAStalledConsumerStopsTheReadsInsteadOfBufferingTheBody() async throws {
        guard engines.contains(.libcurl) else { throw XCTSkip("libcurl cannot be loaded here") }
        let data = Data(repeating: 0x5A, count: 96 << 20)
        let server = try Self.serving(data, at: "/big.bin")
        defer { server.stop() }
        let client = HTTPClient(userAgent: "modelpull-tests", engine: .libcurl)
        let gate = DispatchSemaphore(value: 0)
        let consumed = Recorder()
        let request = Request(url: server.url("/big.bin"))
        let transfer = Task {
            try await client.streamBody(request, onHead: { _ in }) { chunk in
                let first = consumed.lock.withLock { () -> Bool in
                    defer { consumed.byteCount += chunk.count }
                    return consumed.byteCount == 0
                }
                // The first write blocks, as a full or slow disk would.
                if first { _ = gate.wait(timeout: .now() + 20) }
            }
        }
        try await Task.sleep(nanoseconds: 1_500_000_000)
        let sentWhileBlocked = server.bodyBytesSent(path: "/big.bin")
        gate.signal()
        _ = try await transfer.value
        XCTAssertEqual(consumed.lock.withLock { consumed.byteCount }, data.count)
        XCTAssertLessThan(sentWhileBlocked, 32 << 20,
                          "while the consumer was blocked the server got only socket buffers ahead (\(sentWhileBlocked) bytes)")
    }

    func testCancellingTheTaskClosesTheConnectionAtOnce() async throws {
        let data = TestBytes.make(count: 4 << 20, seed: 16)
        let server = try Self.serving(data, at: "/f.bin")
        defer { server.stop() }
        server.faults.add(.rateLimit(bytesPerSecond: 200_000), for: .path("/f.bin"), times: .always)
        for engine in engines {
            let request = Request(url: server.url("/f.bin"))
            let task = Task { await fetchBody(engine, request) }
            try await Task.sleep(nanoseconds: 500_000_000)
            let cancelled = Date()
            task.cancel()
            let got = await task.value
            XCTAssertTrue(got.error is CancellationError, "\(engine): \(String(describing: got.error))")
            XCTAssertLessThan(Date().timeIntervalSince(cancelled), 2, "\(engine)")
            let deadline = Date().addingTimeInterval(5)
            while server.openConnections > 0, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
            XCTAssertEqual(server.openConnections, 0, "the connection is closed, not left reading: \(engine)")
        }
    }
}

/// What one streamed request produced.
private struct Received: Sendable {
    var result: HTTPClient.StreamResult?
    var error: (any Error)?
    var heads: [HTTPResponseHead]
    var body: Data
    var seconds: TimeInterval
}

private final class Recorder: @unchecked Sendable {
    let lock = NSLock()
    var heads: [HTTPResponseHead] = []
    var body = Data()
    /// Bytes counted without keeping them.
    var byteCount = 0
}

private func fetchBody(_ engine: TransferEngine, _ request: ModelPullCore.HTTPRequest, errorBodyLimit: Int = 64 << 10,
                   refuseAfter: Int? = nil) async -> Received {
    let client = HTTPClient(userAgent: "modelpull-tests", engine: engine)
    XCTAssertEqual(client.engine, engine)
    let recorder = Recorder()
    let started = Date()
    do {
        let result = try await client.streamBody(request, errorBodyLimit: errorBodyLimit) { head in
            recorder.lock.withLock { recorder.heads.append(head) }
        } onData: { data in
            try recorder.lock.withLock {
                // Copied: the bytes may live in libcurl's buffer only for this call.
                recorder.body.append(Data(data))
                if let refuseAfter, recorder.body.count >= refuseAfter { throw RefusedByTest() }
            }
        }
        return Received(result: result, heads: recorder.lock.withLock { recorder.heads },
                        body: recorder.lock.withLock { recorder.body }, seconds: Date().timeIntervalSince(started))
    } catch {
        return Received(error: error, heads: recorder.lock.withLock { recorder.heads },
                        body: recorder.lock.withLock { recorder.body }, seconds: Date().timeIntervalSince(started))
    }
}

private struct RefusedByTest: Error {}
