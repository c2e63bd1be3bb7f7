import Foundation

/// olah (`pip install olah`), a real pull-through Hugging Face mirror, run in front of a fake Hub
/// as a fleet would run it in front of huggingface.co: clients set `HF_ENDPOINT` to it, and it
/// fetches each file from upstream once, then serves it from its own cache.
public final class OlahMirror: @unchecked Sendable {
    public let port: Int
    private let process = Process()
    private let directory: String

    /// Whether `python3 -m olah.server` can run here.
    public static var isInstalled: Bool {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import olah.server"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }

    /// Starts olah with `hub` as its upstream Hub and `cdn` as its LFS host; waits until it answers.
    public init(upstreamHub hub: String, upstreamCDN cdn: String) throws {
        directory = NSTemporaryDirectory() + "modelpull-olah-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        let me = "127.0.0.1:\(port)"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "olah.server", "--host", "127.0.0.1", "--port", String(port),
                             "--hf-scheme", "http", "--hf-netloc", hub, "--hf-lfs-netloc", cdn,
                             "--mirror-scheme", "http", "--mirror-netloc", me, "--mirror-lfs-netloc", me,
                             "--repos-path", directory + "/repos"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let log = FileHandle(forWritingAtPath: directory + "/olah.log") ?? {
            FileManager.default.createFile(atPath: directory + "/olah.log", contents: nil)
            return FileHandle(forWritingAtPath: directory + "/olah.log")!
        }()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while !Self.answers(port: port) {
            guard Date() < deadline, process.isRunning else {
                stop()
                throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "olah did not start: \(logText)"])
            }
            usleep(100_000)
        }
    }

    /// What to set `HF_ENDPOINT` to.
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    public var logText: String { (try? String(contentsOfFile: directory + "/olah.log", encoding: .utf8)) ?? "" }

    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    private static func answers(port: Int) -> Bool {
        guard let client = try? LoopbackTCPClient(port: UInt16(port)) else { return false }
        defer { client.close() }
        return (try? client.send(Data("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))) != nil
    }

    private static func freePort() throws -> Int {
        let probe = try LoopbackHTTPServer { _ in .notFound() }
        let port = Int(probe.port)
        probe.stop()
        return port
    }
}
