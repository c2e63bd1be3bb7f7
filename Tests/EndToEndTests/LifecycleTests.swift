import Foundation
import TestSupport
import XCTest

/// How the process lives and dies next to its parent, and how it behaves under load on stdout.
final class LifecycleTests: XCTestCase {
    func testExitsWhenItsParentDies() throws {
        // A shell starts modelpull with a stdin that never reaches EOF (a FIFO opened read-write),
        // prints its pid, and is then killed: modelpull must notice it was orphaned and exit.
        let fifo = NSTemporaryDirectory() + "modelpull-fifo-\(UUID().uuidString)"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        defer { unlink(fifo) }
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "\"$0\" <> \"$1\" & echo $!; exec sleep 30", ModelPullProcess.binaryURL.path, fifo]
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        let reader = output.fileHandleForReading
        var received = Data()
        func readLine() -> String? {
            while true {
                if let newline = received.firstIndex(of: UInt8(ascii: "\n")) {
                    defer { received.removeSubrange(received.startIndex...newline) }
                    return String(decoding: received[received.startIndex..<newline], as: UTF8.self)
                }
                let chunk = reader.availableData
                if chunk.isEmpty { return nil }
                received.append(chunk)
            }
        }
        let pid = try XCTUnwrap(Int32(readLine()?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        XCTAssertTrue(isAlive(pid))
        // Kill the parent only once the child answers, so it has read its parent's pid: a parent
        // that dies before that (a fixed sleep under load) leaves it nothing to notice.
        let writer = try XCTUnwrap(FileHandle(forWritingAtPath: fifo))
        defer { try? writer.close() }
        try writer.write(contentsOf: Data(#"{"jsonrpc":"2.0","id":1,"method":"hello"}"#.utf8 + [UInt8(ascii: "\n")]))
        XCTAssertTrue(readLine()?.contains(#""id":1"#) ?? false, "modelpull answered hello")
        kill(shell.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(3)
        while isAlive(pid), Date() < deadline { usleep(20_000) }
        XCTAssertFalse(isAlive(pid), "modelpull outlived its parent: \((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "")")
        if isAlive(pid) { kill(pid, SIGKILL) }
    }

    func testConcurrentDownloadsNeverInterleaveMessages() throws {
        let router = Router()
        for index in 0..<6 {
            router.file("/f\(index).bin", StaticFile(data: TestBytes.make(count: 600_000, seed: UInt64(30 + index))))
        }
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 1_000_000), for: .prefix("/f"), times: .always)
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ModelPullProcess(arguments: ["serve", "--max-concurrent", "6"])
        for index in 0..<6 {
            server.request(index, "models/download", ["provider": "url", "model": http.url("/f\(index).bin").absoluteString,
                                                      "localDir": directory])
        }
        var responses = 0
        var terminalByRequest: [Int: Int] = [:]
        while responses < 6, let line = server.nextLine(timeout: 30) {
            let message = try XCTUnwrap(WireMessage(line: line), "every line is one whole JSON message: \(line.prefix(200))")
            if message.isResponse {
                XCTAssertNotNil(message.resultObject, line)
                responses += 1
            } else if let status = message.params?["status"] as? String, ["complete", "error", "cancelled"].contains(status) {
                terminalByRequest[message.params?["requestId"] as? Int ?? -1, default: 0] += 1
            }
        }
        XCTAssertEqual(responses, 6)
        XCTAssertEqual(terminalByRequest, Dictionary(uniqueKeysWithValues: (0..<6).map { ($0, 1) }))
    }

    private func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        // An exited child waiting to be reaped is a zombie: not alive.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !stat.contains(") Z ")
    }
}
