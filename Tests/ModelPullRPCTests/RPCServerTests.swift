import Foundation
import ModelPullCore
@testable import ModelPullRPC
import XCTest

/// The dispatcher in process, through the `MessageOutput` seam: what it answers, to which id,
/// and when it stays silent, for both dialects.
final class RPCServerTests: XCTestCase {
    /// Every message the server sends, parsed.
    final class RecordingOutput: MessageOutput {
        private let messages = LockedValue<[JSONValue]>([])
        func send(_ body: [UInt8], coalescingKey: String?) {
            guard let value = try? JSONParser().parse(body) else { return XCTFail("the server sent invalid JSON") }
            messages.withLock { $0.append(value) }
        }
        var all: [JSONValue] { messages.current }
        func response(to id: JSONValue) -> JSONValue? {
            all.first { $0["id"] == id && ($0["result"] != nil || $0["error"] != nil) }
        }
    }

    /// Downloads that finish when `release` says so, instantly otherwise.
    struct HeldProvider: Provider {
        let name = "held"
        let summary = "test"
        let parameters: Set<DownloadParameter> = []
        let released: LockedValue<Bool>
        func availability(in context: ProviderContext) async -> ProviderAvailability { ProviderAvailability(available: true) }
        func prepare(_ request: DownloadRequest, context: ProviderContext) throws(DownloadFailure) -> any DownloadPlan {
            HeldPlan(model: request.model, released: released)
        }
    }

    struct HeldPlan: DownloadPlan {
        let model: String
        let released: LockedValue<Bool>
        var secrets: [String] { [] }
        func run(_ context: DownloadContext) async throws -> DownloadResult {
            context.progress.addFile(model, size: 10)
            while !released.current { try await Task.sleep(for: .milliseconds(2)) }
            context.progress.advance(model, completed: 10)
            return DownloadResult(path: "/m/\(model)", revision: nil, files: [.init(path: model, size: 10)],
                                  bytesDownloaded: 10, bytesReused: 0)
        }
    }

    private let released = LockedValue(true)

    private func server(_ dialect: ProtocolDialect = .native) -> (RPCServer, RecordingOutput) {
        let output = RecordingOutput()
        let context = ProviderContext(environment: ProcessEnvironment([:]), http: HTTPClient(userAgent: "test"), log: LogSink { _, _ in })
        let engine = DownloadEngine(registry: ProviderRegistry([HeldProvider(released: released)]), context: context,
                                    tickInterval: .milliseconds(10))
        let server = RPCServer(engine: engine, output: output, configuration: ServerConfiguration(dialect: dialect),
                               log: LogSink { _, _ in }, onExit: { _ in })
        return (server, output)
    }

    private func send(_ server: RPCServer, _ text: String) {
        server.receive(.message(Array(text.utf8)))
    }

    private func eventually(_ condition: () -> Bool, _ message: String) {
        for _ in 0..<2_000 where !condition() { usleep(5_000) }
        XCTAssertTrue(condition(), message)
    }

    func testEveryRequestIsAnsweredOnceByIdAndNotificationsNever() {
        let (server, output) = server()
        send(server, #"{"jsonrpc":"2.0","id":"a","method":"hello"}"#)
        send(server, #"{"jsonrpc":"2.0","id":7,"method":"providers/list","params":null}"#)
        send(server, #"{"jsonrpc":"2.0","id":8,"method":"no/such"}"#)
        send(server, #"{"jsonrpc":"2.0","method":"some/notification","params":{}}"#)
        send(server, #"{"jsonrpc":"2.0","id":9,"method":"models/download","params":{"provider":7,"model":"x"}}"#)
        eventually({ output.all.count >= 4 }, "four answers")
        usleep(50_000)
        XCTAssertEqual(output.all.count, 4, "\(output.all)")
        XCTAssertNotNil(output.response(to: "a")?["result"])
        XCTAssertEqual(output.response(to: 7)?["result"]?["providers"]?[0]?["name"], "held")
        XCTAssertEqual(output.response(to: 8)?["error"]?["code"], -32601)
        XCTAssertEqual(output.response(to: 9)?["error"]?["data"]?["field"], "params.provider")
    }

    func testADuplicateIdInFlightIsRefusedAndTheFirstStillAnswered() {
        released.withLock { $0 = false }
        let (server, output) = server()
        send(server, #"{"jsonrpc":"2.0","id":1,"method":"models/download","params":{"provider":"held","model":"m"}}"#)
        eventually({ output.all.contains { $0["method"] == "downloads/progress" } }, "the download runs")
        send(server, #"{"jsonrpc":"2.0","id":1,"method":"hello"}"#)
        eventually({ output.all.contains { $0["error"]?["data"]?["reason"] == "duplicate_id" } }, "duplicate refused")
        released.withLock { $0 = true }
        eventually({ output.response(to: 1)?["result"] != nil }, "the first request's answer")
        let progress = output.all.filter { $0["method"] == "downloads/progress" }
        XCTAssertEqual(progress.last?["params"]?["status"], "complete", "the terminal event comes before the answer")
    }

    /// Native: a cancelled download is answered (cancelled). MCP: it is not answered at all.
    func testCancelledRequestsAreAnsweredNativelyAndNotUnderMCP() {
        for dialect in [ProtocolDialect.native, .mcp(MCPSession())] {
            released.withLock { $0 = false }
            let (server, output) = server(dialect)
            let isMCP = if case .mcp = dialect { true } else { false }
            let call = isMCP
                ? #"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"download_model","arguments":{"provider":"held","model":"m"},"_meta":{"progressToken":5}}}"#
                : #"{"jsonrpc":"2.0","id":5,"method":"models/download","params":{"provider":"held","model":"m"}}"#
            send(server, call)
            eventually({ !output.all.isEmpty }, "progress flows")
            send(server, #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}"#)
            send(server, isMCP ? #"{"jsonrpc":"2.0","id":6,"method":"ping"}"# : #"{"jsonrpc":"2.0","id":6,"method":"hello"}"#)
            eventually({ output.response(to: 6) != nil }, "later requests are answered")
            usleep(200_000)
            if isMCP {
                XCTAssertNil(output.response(to: 5), "MCP: no response for a cancelled call")
            } else {
                XCTAssertEqual(output.response(to: 5)?["error"]?["data"]?["kind"], "cancelled")
            }
            released.withLock { $0 = true }
        }
    }
}
