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
        logger.error("boom")
        logger.warning("careful")
        logger.info("hello")
        logger.debug("details")
        logger.trace({ evaluated += 1; return "too chatty" }())
        logger.level = .error
        logger.info("filtered after lowering the level")
        logger.log(.off, "never")
        XCTAssertEqual(evaluated, 0, "disabled messages are not even built")
        let lines = logLines(pipe, logger).map { parts($0) }
        XCTAssertEqual(lines.map(\.0), ["ERROR", "WARN ", "INFO ", "DEBUG"])
        XCTAssertEqual(lines.map(\.1), ["boom", "careful", "hello", "details"])
    }

    func testRedactionNewlinesAndTruncation() throws {
        let pipe = try TransportTestPipe()
        let logger = Logger(level: .info, fd: pipe.writeFD, maxLineBytes: 101)
        logger.registerSecret("hf_SECRET123")
        logger.registerSecret("")
        logger.info("Authorization: Bearer hf_SECRET123 for https://u:hf_SECRET123@example.com")
        logger.info("line one\nline two\r")
        logger.info(String(repeating: "é", count: 80))
        let messages = logLines(pipe, logger).map { parts($0).1 }
        XCTAssertEqual(messages[0], "Authorization: Bearer *** for https://u:***@example.com")
        XCTAssertEqual(messages[1], "line one\\nline two\\r")
        XCTAssertEqual(messages[2], String(repeating: "é", count: 50) + " [... truncated, 160 bytes in all]",
                       "cut at 101 bytes would split an 'é': it backs up to 100")
        XCTAssertEqual(messages.count, 3)
    }

    func testUndrainedStderrDropsLinesInsteadOfBlocking() throws {
        let pipe = try TransportTestPipe()  // not read until the end
        let logger = Logger(level: .info, fd: pipe.writeFD, maxQueuedLines: 8)
        let start = Date()
        let filler = String(repeating: "x", count: 1_000)
        for index in 0..<2_000 { logger.info("\(index) \(filler)") }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "logging must not wait for stderr")
        let dropped = logger.droppedLineCount
        XCTAssertGreaterThan(dropped, 1_000)

        let lines = logLines(pipe, logger)
        let notices = lines.filter { $0.hasSuffix(" log lines dropped (stderr not drained)") }
        let noticedDrops = notices.compactMap { parts($0).1.split(separator: " ").first.flatMap { Int($0) } }.reduce(0, +)
        XCTAssertEqual(noticedDrops, dropped, "every drop is accounted for")
        XCTAssertEqual(lines.count - notices.count, 2_000 - dropped)
        XCTAssertEqual(lines.last, notices.last)
    }

    func testDisabledLoggerAndCoreSink() throws {
        XCTAssertFalse(Logger.disabled().isEnabled(.error))
        let pipe = try TransportTestPipe()
        let logger = Logger(level: .info, fd: pipe.writeFD)
        logger.registerSecret("tok_123456")
        let sink = logger.sink
        sink(.info, "engine says tok_123456")
        sink(.debug, "filtered")
        XCTAssertEqual(logLines(pipe, logger).map { parts($0).1 }, ["engine says ***"])
    }

    func testRedactorMasksLongestSecretsFirst() {
        let redactor = SecretRedactor()
        redactor.register("abc")
        redactor.register("abcdef")
        redactor.register("abc")
        XCTAssertEqual(redactor.redact("x abcdef y abc z"), "x *** y *** z")
        redactor.unregister("abc")
        XCTAssertEqual(redactor.redact("abcdef abc"), "*** abc")
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
