import Foundation
import XCTest
@testable import ModelPullRPC
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Logger, secret redaction and the stdout guard: the other writers of the process.
final class WriterLoggerTests: XCTestCase {
    private func logLines(_ pipe: TransportTestPipe, _ logger: Logger) -> [String] {
        let output = pipe.startReadingToEnd()
        XCTAssertTrue(logger.flush(timeout: 5))
        pipe.closeWrite()
        let text = String(decoding: output.wait().first ?? [], as: UTF8.self)
        XCTAssertTrue(text.isEmpty || text.hasSuffix("\n"))
        return text.split(separator: "\n").map(String.init)
    }

    /// `2025-01-02T03:04:05.678Z LEVEL message` -> (LEVEL, message), checking the timestamp shape.
    private func parts(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> (String, String) {
        let utf8 = Array(line.utf8)
        guard utf8.count >= 31 else {
            XCTFail("short line \(line)", file: file, line: lineNumber)
            return ("", "")
        }
        let shape = "dddd-dd-ddTdd:dd:dd.dddZ "
        for (byte, expected) in zip(utf8, shape.utf8) {
            let matches = expected == UInt8(ascii: "d") ? (0x30...0x39).contains(byte) : byte == expected
            XCTAssertTrue(matches, "timestamp in \(line)", file: file, line: lineNumber)
        }
        return (String(decoding: utf8[25..<30], as: UTF8.self), String(decoding: utf8[31...], as: UTF8.self))
    }

    func testFormatLevelsAndFiltering() throws {
        let pipe = try TransportTestPipe()
        let logger = Logger(level: .debug, fd: pipe.writeFD)
        var evaluated = 0
        logger.log(.error, "boom")
        logger.log(.warning, "careful")
        logger.log(.info, "hello")
        logger.log(.debug, "details")
        logger.log(.trace, { evaluated += 1; return "too chatty" }())
        logger.level = .error
        logger.log(.info, "filtered after lowering the level")
        logger.log(.off, "never")
        XCTAssertEqual(evaluated, 0, "disabled messages are not even built")
        let lines = logLines(pipe, logger).map { parts($0) }
        XCTAssertEqual(lines.map(\.0), ["ERROR", "WARN ", "INFO ", "DEBUG"])
        XCTAssertEqual(lines.map(\.1), ["boom", "careful", "hello", "details"])
    }

    func testNewlinesAndTruncation() throws {
        let pipe = try TransportTestPipe()
        let logger = Logger(level: .info, fd: pipe.writeFD, maxLineBytes: 101)
        logger.log(.info, "line one\nline two\r")
        logger.log(.info, String(repeating: "é", count: 80))
        let messages = logLines(pipe, logger).map { parts($0).1 }
        XCTAssertEqual(messages[0], "line one\\nline two\\r")
        XCTAssertEqual(messages[1], String(repeating: "é", count: 50) + " [... truncated, 160 bytes in all]",
                       "cut at 101 bytes would split an 'é': it backs up to 100")
        XCTAssertEqual(messages.count, 2)
    }

    func testUndrainedStderrDropsLinesInsteadOfBlocking() throws {
        let pipe = try TransportTestPipe()  // not read until the end
        let logger = Logger(level: .info, fd: pipe.writeFD, maxQueuedLines: 8)
        let filler = String(repeating: "x", count: 1_000)
        // 2 MB into a 64 KiB pipe nobody reads: a logger that waited for stderr would never return.
        let logged = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            for index in 0..<2_000 { logger.log(.info, "\(index) \(filler)") }
            logged.signal()
        }
        XCTAssertEqual(logged.wait(timeout: .now() + 60), .success, "logging blocked on an undrained stderr")

        let lines = logLines(pipe, logger)
        let notices = lines.filter { $0.hasSuffix(" log lines dropped (stderr not drained)") }
        let dropped = notices.compactMap { parts($0).1.split(separator: " ").first.flatMap { Int($0) } }.reduce(0, +)
        XCTAssertGreaterThan(dropped, 1_000)
        XCTAssertEqual(lines.count - notices.count, 2_000 - dropped, "every drop is accounted for")
        XCTAssertEqual(lines.last, notices.last)
    }

    func testTheCoreSinkLogsAtTheLoggersLevel() throws {
        let pipe = try TransportTestPipe()
        let logger = Logger(level: .info, fd: pipe.writeFD)
        let sink = logger.sink
        sink(.info, "engine says hello")
        sink(.debug, "filtered")
        XCTAssertEqual(logLines(pipe, logger).map { parts($0).1 }, ["engine says hello"])
    }

    func testStdoutGuardKeepsProtocolAndRedirectsStrayOutput() throws {
        let fakeStdout = try TransportTestPipe()
        let fakeStderr = try TransportTestPipe()
        let protocolFD = try StdoutGuard.claimProtocolOutput(stdoutFD: fakeStdout.writeFD, stderrFD: fakeStderr.writeFD)
        XCTAssertNotEqual(fcntl(protocolFD, F_GETFD) & FD_CLOEXEC, 0)
        XCTAssertNil(FileDescriptorIO.writeAll(protocolFD, Array("protocol\n".utf8)))
        XCTAssertNil(FileDescriptorIO.writeAll(fakeStdout.writeFD, Array("stray\n".utf8)))
        close(protocolFD)
        let protocolOutput = fakeStdout.startReadingToEnd()
        let strayOutput = fakeStderr.startReadingToEnd()
        fakeStdout.closeWrite()
        fakeStderr.closeWrite()
        XCTAssertEqual(protocolOutput.wait().first, Array("protocol\n".utf8))
        XCTAssertEqual(strayOutput.wait().first, Array("stray\n".utf8))
    }
}
