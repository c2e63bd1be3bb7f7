import Foundation

/// Runs `/usr/bin/curl` as an independent HTTP client, to check the loopback servers (and the
/// fakes built on them) against a client that is not the code under test.
///
///     let result = try CurlCommand.run(["-r", "0-99", server.url("/f").absoluteString])
///     XCTAssertEqual(result.status, 206)
///     XCTAssertEqual(result.headers["Content-Range"], "bytes 0-99/1000")
public enum CurlCommand {
    public struct Result: Sendable {
        /// curl's exit code: 0 success, 18 partial transfer, 28 timeout, 7 cannot connect, ...
        public var exitCode: Int32
        /// The body (or bodies, with several URLs) written to standard output.
        public var body: Data
        public var stderr: String
        /// Status of the last response curl received (after redirects when `-L`), 0 if none.
        public var status: Int
        /// Headers of the last response curl received.
        public var headers: HTTPHeaders

        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    public static let executable = URL(fileURLWithPath: "/usr/bin/curl")

    /// Runs curl quietly (`-sS`, errors still reported) with `--max-time` as a safety net and
    /// the response heads dumped to a temporary file for parsing. Extra arguments go last and
    /// may include URLs, `-L`, `-H`, `-r`, `--data-binary`, a smaller `--max-time`, etc.
    public static func run(_ arguments: [String], maxTime: TimeInterval = 30) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory
        let headerFile = scratch.appendingPathComponent("curl-head-\(UUID().uuidString)")
        let errorFile = scratch.appendingPathComponent("curl-err-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: headerFile)
            try? FileManager.default.removeItem(at: errorFile)
        }
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        let errorHandle = try FileHandle(forWritingTo: errorFile)
        defer { try? errorHandle.close() }

        let process = Process()
        process.executableURL = executable
        process.arguments = ["-sS", "--max-time", String(maxTime), "-D", headerFile.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        // stderr goes to a file, so a chatty curl (-v) can never block on a full pipe while we
        // are still draining stdout.
        process.standardError = errorHandle
        try process.run()
        let body = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()

        let heads = (try? String(contentsOf: headerFile, encoding: .utf8)) ?? ""
        let (status, headers) = parseLastHead(heads)
        let stderr = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        return Result(exitCode: process.terminationStatus, body: body, stderr: stderr, status: status, headers: headers)
    }

    /// The `-D` file holds every response head in order (redirects, `100 Continue`); the last
    /// one describes the body we got.
    static func parseLastHead(_ text: String) -> (Int, HTTPHeaders) {
        let heads = text.components(separatedBy: "\r\n\r\n").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        guard let last = heads.last else { return (0, [:]) }
        var lines = last.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard !lines.isEmpty else { return (0, [:]) }
        let statusLine = lines.removeFirst()
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        var headers: HTTPHeaders = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return (status, headers)
    }
}
