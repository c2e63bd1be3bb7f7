import Foundation
import TestSupport
import XCTest

/// The commands a person types besides `pull`'s download: help on every command, `--json`,
/// `list`, `rm`, `providers`, and messages that name flags rather than protocol fields.
final class CommandLineCommandsTests: HuggingFaceTestCase {
    private func run(_ arguments: [String], _ environment: [String: String] = [:]) throws
        -> (stdout: String, stderr: String, status: Int32?) {
        let process = try launch(environment, arguments: arguments, recordTranscript: false)
        process.closeStdin()
        var lines: [String] = []
        while let line = process.nextLine(timeout: 30) { lines.append(line) }
        let status = process.waitForExit(timeout: 10)
        return (lines.joined(separator: "\n"), process.stderrText, status)
    }

    func testEveryCommandHasHelp() throws {
        let pages = ["pull": "modelpull pull", "list": "modelpull list", "ls": "modelpull list", "rm": "modelpull rm",
                     "remove": "modelpull rm", "providers": "modelpull providers", "serve": "modelpull [serve]",
                     "mcp": "modelpull mcp",
                     "schema": "modelpull schema"]
        for (command, usage) in pages {
            for arguments in [[command, "--help"], [command, "-h"], ["help", command], [command, "x", "--help"]] {
                let (stdout, stderr, status) = try run(arguments)
                XCTAssertEqual(status, 0, "\(arguments): \(stderr)")
                XCTAssertTrue(stdout.hasPrefix("Usage: \(usage)"), "\(arguments): \(stdout)")
            }
        }
        let general = try run(["--help"]).stdout
        for command in ["pull", "list", "rm", "providers", "serve", "mcp", "schema"] {
            XCTAssertTrue(general.contains("modelpull \(command)") || general.contains("modelpull [\(command)]"), command)
        }
        XCTAssertEqual(try run(["help", "frobnicate"]).status, 2)
    }

    func testPullJSONPrintsTheResultObject() throws {
        fake.addRepo("org/tiny", files: [FakeHubFile("config.json", Data("{}".utf8), lfs: false),
                                         FakeHubFile("model.bin", TestBytes.make(count: 200_000, seed: 50), lfs: true)])
        let (stdout, stderr, status) = try run(["pull", "huggingface", "org/tiny", "--cache-dir", cache, "--json"])
        XCTAssertEqual(status, 0, stderr)
        let result = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], stdout)
        XCTAssertEqual(result["status"] as? String, "complete")
        XCTAssertEqual((result["files"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual(result["bytesDownloaded"] as? Int, 200_002)
        XCTAssertTrue(FileManager.default.fileExists(atPath: try XCTUnwrap(result["path"] as? String) + "/model.bin"))
        XCTAssertTrue(stderr.contains("model.bin"), "one line per file in the summary: \(stderr)")
    }

    func testListRemoveAndProviders() throws {
        fake.addRepo("org/listed", files: [FakeHubFile("model.bin", TestBytes.make(count: 100_000, seed: 51), lfs: true)])
        XCTAssertEqual(try run(["pull", "huggingface", "org/listed", "--cache-dir", cache]).status, 0)

        let table = try run(["list", "huggingface", "--cache-dir", cache])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.hasPrefix("PROVIDER"), table.stdout)
        XCTAssertTrue(table.stdout.contains("org/listed") && table.stdout.contains("100.0 kB"), table.stdout)
        let json = try run(["list", "huggingface", "--cache-dir", cache, "--json"])
        let models = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["models"] as? [[String: Any]])
        XCTAssertEqual(models.map { $0["model"] as? String }, ["org/listed"])

        let removed = try run(["rm", "huggingface", "org/listed", "--cache-dir", cache])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("org/listed")))
        XCTAssertTrue(try run(["list", "huggingface", "--cache-dir", cache]).stderr.contains("No models found"))
        XCTAssertEqual(try run(["rm", "url", "x"]).status, 2, "url keeps no list to remove from")

        // No Ollama answers here: said in the table, and by `list` with the flag a person passed.
        let ollama = ["OLLAMA_HOST": "127.0.0.1:9"]
        let providers = try run(["providers"], ollama)
        XCTAssertEqual(providers.status, 0, providers.stderr)
        XCTAssertTrue(providers.stdout.contains("ollama") && providers.stdout.contains("unavailable"), providers.stdout)
        let ollamaList = try run(["list", "ollama", "--base-url", "http://127.0.0.1:9"])
        XCTAssertEqual(ollamaList.status, 1, ollamaList.stderr)
        XCTAssertTrue(ollamaList.stderr.contains("from --base-url") && !ollamaList.stderr.contains("`baseUrl`"), ollamaList.stderr)
        let listed = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(try run(["providers", "--json"], ollama).stdout.utf8))
            as? [String: Any])?["providers"] as? [[String: Any]])
        XCTAssertEqual(listed.map { $0["name"] as? String }, ["huggingface", "mlx", "ollama", "url"])
    }

    /// The engine says `fileName`; the command line says `--file-name`.
    func testMessagesNameFlagsNotProtocolFields() throws {
        let (_, stderr, status) = try run(["pull", "url", "http://127.0.0.1:9/", "--local-dir", root + "/out"])
        XCTAssertEqual(status, 2, stderr)
        XCTAssertTrue(stderr.contains("--file-name") && !stderr.contains("`fileName`"), stderr)
    }

    /// An HTML error page is summarised as its text, never quoted as markup.
    func testAnHTMLErrorPageIsSummarised() throws {
        let page = "<!DOCTYPE HTML>\n<html><head><title>Error response</title></head><body><h1>Error response</h1><p>Message: File not found.</p></body></html>"
        let http = try LoopbackHTTPServer { _ in
            HTTPResponse(status: 404, headers: ["Content-Type": "text/html"], body: .bytes(Data(page.utf8)))
        }
        defer { http.stop() }
        let (_, stderr, status) = try run(["pull", "url", http.url("/gone.bin").absoluteString, "--local-dir", root + "/out"])
        XCTAssertEqual(status, 1, stderr)
        XCTAssertTrue(stderr.contains("HTTP 404") && stderr.contains("Message: File not found."), stderr)
        XCTAssertFalse(stderr.contains("<"), stderr)
    }

    /// `modelpull` typed at a terminal says what it is waiting for instead of waiting silently.
    func testServeAtATerminalSaysWhatItSpeaks() throws {
        let run = try TerminalRun(columns: 80, arguments: [], input: "\u{04}")
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("JSON-RPC") && run.output.contains("modelpull --help"), run.output)
    }
}
