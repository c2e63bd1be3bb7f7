import Foundation
import TestSupport
import XCTest

/// `modelpull pull` at a real terminal: a pseudo-terminal of a given width (Python's `pty`),
/// so the binary sees `isatty` and `TIOCGWINSZ` exactly as in a person's window.
final class TerminalTests: XCTestCase {
    /// Every redraw fits the width (a line that wraps leaves a copy behind at each redraw, as
    /// 65 copies in 7 s did at 80 columns), redraws happen in place, and the run ends with the
    /// summary on lines of their own.
    func testTheProgressLineFitsTheTerminalAndRedrawsInPlace() throws {
        let router = Router()
        router.file("/a-model-with-a-rather-long-name-\(String(repeating: "x", count: 40)).gguf",
                    StaticFile(data: TestBytes.make(count: 1_500_000, seed: 40)))
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        let url = http.url("/a-model-with-a-rather-long-name-\(String(repeating: "x", count: 40)).gguf").absoluteString
        for columns in [40, 80, 200] {
            http.faults.add(.rateLimit(bytesPerSecond: 1_000_000), for: .any)
            let directory = makeTemporaryDirectory("\(name)-\(columns)")
            let run = try TerminalRun(columns: columns, arguments: ["pull", "url", url, "--local-dir", directory])
            XCTAssertEqual(run.status, 0, run.output)
            let redraws = run.output.components(separatedBy: "\r\u{1B}[2K").dropFirst()
            XCTAssertGreaterThan(redraws.count, 3, "the line is redrawn in place: \(run.output.debugDescription)")
            // The last clear is the one before the summary, which is not a progress line.
            for redraw in redraws.dropLast() {
                // By scalars: "\r\n" is one Swift Character.
                let line = String(String.UnicodeScalarView(redraw.unicodeScalars.prefix { $0 != "\r" && $0 != "\n" }))
                XCTAssertLessThan(TerminalRun.columns(line), columns, "\(columns) columns: \(line.debugDescription)")
            }
            XCTAssertTrue(run.output.contains("Downloaded 1 file(s)"), run.output)
            XCTAssertTrue(run.output.contains("%"), "percent shown even at \(columns) columns: \(run.output)")
            if columns >= 80 { XCTAssertTrue(run.output.contains("█"), "a bar where there is room") }
        }
    }

    /// A failure is said once, in one line after the progress line is cleared.
    func testAFailureIsPrintedOnce() throws {
        let http = try LoopbackHTTPServer { _ in .notFound() }
        defer { http.stop() }
        let run = try TerminalRun(columns: 80, arguments: ["pull", "url", http.url("/missing.bin").absoluteString,
                                                          "--local-dir", makeTemporaryDirectory(name)])
        XCTAssertEqual(run.status, 1, run.output)
        XCTAssertEqual(run.output.components(separatedBy: "not_found").count - 1, 1, run.output)
    }

    /// Words a server sends (an error page) are shown, never obeyed by the terminal.
    func testEscapesInServerWordsAreNotSentToTheTerminal() throws {
        let http = try LoopbackHTTPServer { _ in
            HTTPResponse(status: 403, headers: ["Content-Type": "text/plain"], body: .bytes(Data("no\u{1B}]0;pwned\u{07} entry".utf8)))
        }
        defer { http.stop() }
        let run = try TerminalRun(columns: 80, arguments: ["pull", "url", http.url("/m.bin").absoluteString,
                                                          "--local-dir", makeTemporaryDirectory(name)])
        XCTAssertEqual(run.status, 1, run.output)
        XCTAssertFalse(run.output.unicodeScalars.contains("\u{07}"), run.output.debugDescription)
        XCTAssertFalse(run.output.contains("\u{1B}]0;"), run.output.debugDescription)
    }
}

/// One run of the binary on a pseudo-terminal of `columns` columns; everything it wrote to the
/// terminal (stdout and stderr share it, as in a window).
struct TerminalRun {
    var output: String
    var status: Int32?

    /// `input` is typed into the terminal once the program runs (`\u{04}` is Ctrl-D).
    init(columns: Int, arguments: [String], input: String = "") throws {
        let script = """
        import fcntl, os, pty, struct, sys, termios
        columns = int(sys.argv[1])
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(sys.stdout.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
            os.execv(sys.argv[3], sys.argv[3:])
        if sys.argv[2]:
            import time
            time.sleep(0.5)
            os.write(fd, sys.argv[2].encode())
        chunks = []
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        _, status = os.waitpid(pid, 0)
        sys.stdout.buffer.write(b"".join(chunks))
        sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, String(columns), input, ModelPullProcess.binaryURL.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CACHE_HOME"] = NSTemporaryDirectory() + "modelpull-tests-cache"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        output = String(decoding: data, as: UTF8.self)
        status = process.terminationStatus
    }

    /// Columns a line takes, counting as the binary does (one per scalar, two for wide ones).
    static func columns(_ line: String) -> Int {
        line.unicodeScalars.reduce(0) { sum, scalar in
            switch scalar.value {
            case 0x0300...0x036F, 0x200B...0x200F: sum
            case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFF00...0xFF60, 0x1F300...0x1FAFF: sum + 2
            default: sum + 1
            }
        }
    }
}
