import Foundation
import TestSupport
import XCTest

/// The human-facing commands: `pull`, `schema`, `--version`, `--help`, usage errors.
final class CommandLineTests: XCTestCase {
    private func run(_ arguments: [String], environment: [String: String] = [:]) throws
        -> (stdout: [String], stderr: String, status: Int32?) {
        let process = try ModelPullProcess(arguments: arguments, environment: environment, recordTranscript: false)
        process.closeStdin()
        var lines: [String] = []
        while let line = process.nextLine(timeout: 30) { lines.append(line) }
        let status = process.waitForExit(timeout: 10)
        return (lines, process.stderrText, status)
    }

    func testPullDownloadsAndPrintsThePath() throws {
        let data = TestBytes.make(count: 500_000, seed: 21)
        let router = Router()
        router.file("/weights.bin", StaticFile(data: data))
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sha = try Checksums.sha256(of: data)

        let (stdout, stderr, status) = try run(["pull", "url", http.url("/weights.bin").absoluteString,
                                                "--local-dir", directory, "--sha256", sha])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertEqual(stdout, [directory + "/weights.bin"], "stdout carries only the path")
        XCTAssertEqual(try Checksums.sha256(of: directory + "/weights.bin"), sha)
        XCTAssertTrue(stderr.contains("[complete]"), "plain progress lines when stderr is not a terminal: \(stderr)")
        XCTAssertTrue(stderr.contains("[starting]"), stderr)
    }

    func testPullFailureExitsNonZeroWithTheReason() throws {
        let http = try LoopbackHTTPServer { _ in .notFound() }
        defer { http.stop() }
        let (stdout, stderr, status) = try run(["pull", "url", http.url("/missing.bin").absoluteString,
                                                "--local-dir", makeTemporaryDirectory()])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(stdout, [])
        XCTAssertTrue(stderr.contains("not_found"), stderr)
    }

    func testPullInterruptCancelsCleanlyAndKeepsThePartial() throws {
        let router = Router()
        router.file("/big.bin", StaticFile(data: TestBytes.make(count: 3 << 20, seed: 22)))
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        http.faults.add(.rateLimit(bytesPerSecond: 1 << 20), for: .path("/big.bin"))
        let directory = makeTemporaryDirectory()
        let process = try ModelPullProcess(arguments: ["pull", "url", http.url("/big.bin").absoluteString, "--local-dir", directory],
                                           recordTranscript: false)
        let deadline = Date().addingTimeInterval(10)
        while http.bodyBytesSent(path: "/big.bin") < 200_000, Date() < deadline { usleep(20_000) }
        process.signal(SIGINT)
        XCTAssertEqual(process.waitForExit(timeout: 3), 130, process.stderrText)
        XCTAssertTrue(process.stderrText.contains("cancelled"), process.stderrText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/.modelpull/big.bin.partial"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/big.bin"))
    }

    /// A wish the provider cannot honour is a usage error naming the flag and the providers that
    /// read it, before any connection: never a download that ignored it.
    func testAnOptionTheProviderDoesNotUseIsRefusedWithItsFlag() throws {
        let cases: [(arguments: [String], flag: String, readers: String)] = [
            (["pull", "url", "http://127.0.0.1:9/m.bin", "--revision", "main"], "--revision", "huggingface, mlx"),
            (["pull", "url", "http://127.0.0.1:9/m.bin", "--exclude", "*"], "--exclude", "huggingface, mlx"),
            (["pull", "ollama", "llama3.2", "--connections", "4"], "--connections", "huggingface, mlx, url"),
            (["pull", "huggingface", "org/name", "--file-name", "x.bin"], "--file-name", "url"),
            (["pull", "mlx", "org/name", "--sha256", String(repeating: "a", count: 64)], "--sha256", "url"),
        ]
        for (arguments, flag, readers) in cases {
            let (stdout, stderr, status) = try run(arguments)
            XCTAssertEqual(status, 2, "\(arguments): \(stderr)")
            XCTAssertEqual(stdout, [])
            XCTAssertTrue(stderr.contains(flag) && stderr.contains("provider '\(arguments[1])'") && stderr.contains(readers),
                          "\(arguments): \(stderr)")
            XCTAssertFalse(stderr.contains("`"), "flags, not JSON field names: \(stderr)")
        }
    }

    func testSchemaPrintsTheEmbeddedOpenRPCDocument() throws {
        let (stdout, _, status) = try run(["schema"])
        XCTAssertEqual(status, 0)
        let text = stdout.joined(separator: "\n")
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertNotNil(document["methods"])
        let onDisk = try String(contentsOfFile: repositoryRoot() + "/schema/v1/openrpc.json", encoding: .utf8)
        XCTAssertEqual(text.trimmingCharacters(in: .whitespacesAndNewlines),
                       onDisk.trimmingCharacters(in: .whitespacesAndNewlines), "the binary embeds schema/v1 as it is")
        let list = try run(["schema", "--list"]).stdout
        XCTAssertTrue(list.contains("methods/models.download.params.schema.json"), "\(list)")
    }

    func testVersionHelpAndUsageErrors() throws {
        let version = try run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.stdout.first?.hasPrefix("modelpull ") ?? false)
        let help = try run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.joined(separator: "\n").contains("modelpull pull <provider> <model>"))
        for arguments in [["frobnicate"], ["serve", "--max-concurrent", "0"], ["serve", "--framing", "xml"],
                          ["pull", "url"], ["pull", "url", "x", "--bogus"], ["serve", "--log-level"]] {
            let outcome = try run(arguments)
            XCTAssertEqual(outcome.status, 2, "\(arguments)")
            XCTAssertEqual(outcome.stdout, [], "\(arguments)")
            XCTAssertTrue(outcome.stderr.hasPrefix("modelpull: "), "\(arguments): \(outcome.stderr)")
        }
    }

    private func repositoryRoot() -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}
