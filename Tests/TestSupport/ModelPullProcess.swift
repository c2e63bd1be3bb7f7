import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON message read from or written to the binary, parsed with Foundation for assertions.
public struct WireMessage: @unchecked Sendable, CustomStringConvertible {
    public let raw: String
    public let object: [String: Any]

    public init?(line: String) {
        guard let data = line.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        raw = line
        self.object = object
    }

    public var method: String? { object["method"] as? String }
    public var params: [String: Any]? { object["params"] as? [String: Any] }
    public var result: Any? { object["result"] }
    public var resultObject: [String: Any]? { object["result"] as? [String: Any] }
    public var error: [String: Any]? { object["error"] as? [String: Any] }
    public var errorCode: Int? { (error?["code"] as? NSNumber)?.intValue }
    public var errorData: [String: Any]? { error?["data"] as? [String: Any] }
    public var isResponse: Bool { object["result"] != nil || object["error"] != nil }
    public var description: String { raw }

    /// The id as sent: `"1"` and `1` stay different.
    public var idDescription: String? {
        guard let id = object["id"] else { return nil }
        if id is NSNull { return "null" }
        if let text = id as? String { return "\"\(text)\"" }
        if let number = id as? NSNumber { return number.stringValue }
        return nil
    }
}

/// The built `modelpull` binary, spawned over real pipes. Every line both ways is recorded in a
/// transcript that CI validates against schema/v1 (see scripts/validate_messages.py).
public final class ModelPullProcess: @unchecked Sendable {
    public let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let lock = NSCondition()
    private var lines: [String] = []
    private var stdoutBuffer = Data()
    private var stdoutClosed = false
    private var stderrData = Data()
    private let transcript: TranscriptRecorder?

    /// Path of the binary: `MODELPULL_BINARY`, else next to the test bundle.
    public static var binaryURL: URL {
        if let path = ProcessInfo.processInfo.environment["MODELPULL_BINARY"] { return URL(fileURLWithPath: path) }
        #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("modelpull")
        }
        #endif
        return Bundle.main.bundleURL.appendingPathComponent("modelpull")
    }

    /// `recordTranscript: false` for sessions whose output is not NDJSON (LSP framing tests).
    public init(arguments: [String] = [], environment: [String: String] = [:], recordTranscript: Bool = true,
                function: String = #function) throws {
        process.executableURL = Self.binaryURL
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        // Tests never touch the real caches of the machine they run on.
        env["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME_FOR_TESTS"] ?? NSTemporaryDirectory() + "modelpull-tests-cache"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        transcript = recordTranscript ? TranscriptRecorder(name: function) : nil
        // A test that writes to a server that already exited must see EPIPE, not die of SIGPIPE.
        ignoreBrokenPipe()
        try process.run()
        startReading()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    // MARK: Writing

    /// Sends one NDJSON line (a newline is added). Lines sent as `invalid` are input the test
    /// gets wrong on purpose; the transcript keeps them raw so the schema check skips them.
    public func send(_ line: String, invalid: Bool = false) {
        transcript?.record(direction: "in", line: line, raw: invalid)
        writeRaw(Data((line + "\n").utf8))
    }

    public func send(_ object: [String: Any], invalid: Bool = false) {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        send(String(decoding: data, as: UTF8.self), invalid: invalid)
    }

    /// Sends a request and returns nothing; read with `response(to:)`.
    public func request(_ id: Any, _ method: String, _ params: [String: Any]? = nil, invalid: Bool = false) {
        var message: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method]
        if let params { message["params"] = params }
        send(message, invalid: invalid)
    }

    public func notify(_ method: String, _ params: [String: Any]? = nil) {
        var message: [String: Any] = ["jsonrpc": "2.0", "method": method]
        if let params { message["params"] = params }
        send(message)
    }

    /// Bytes exactly as given (garbage, LSP frames, partial lines). Not schema-checked.
    public func writeRaw(_ data: Data) {
        try? stdinPipe.fileHandleForWriting.write(contentsOf: data)
    }

    public func closeStdin() {
        try? stdinPipe.fileHandleForWriting.close()
    }

    // MARK: Reading

    /// The next stdout line, or nil at EOF or after `timeout` seconds.
    public func nextLine(timeout: TimeInterval = 10) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock(); defer { lock.unlock() }
        while lines.isEmpty && !stdoutClosed {
            if !lock.wait(until: deadline) { return nil }
        }
        return lines.isEmpty ? nil : lines.removeFirst()
    }

    public func nextMessage(timeout: TimeInterval = 10) -> WireMessage? {
        guard let line = nextLine(timeout: timeout) else { return nil }
        return WireMessage(line: line)
    }

    /// Reads until the response with `id` (compared as sent), returning the notifications seen on
    /// the way and the response.
    public func response(to id: Any, timeout: TimeInterval = 30) -> (notifications: [WireMessage], response: WireMessage?) {
        let wanted = Self.idString(id)
        var notifications: [WireMessage] = []
        let deadline = Date().addingTimeInterval(timeout)
        while let message = nextMessage(timeout: max(0, deadline.timeIntervalSinceNow)) {
            if message.isResponse, message.idDescription == wanted { return (notifications, message) }
            notifications.append(message)
        }
        return (notifications, nil)
    }

    /// Waits for the process to exit; nil when it is still running after `timeout`.
    public func waitForExit(timeout: TimeInterval = 5) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            usleep(10_000)
        }
        return process.terminationStatus
    }

    public var stderrText: String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: stderrData, as: UTF8.self)
    }

    public func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    public static func idString(_ id: Any) -> String {
        if let text = id as? String { return "\"\(text)\"" }
        if let number = id as? Int { return String(number) }
        return "\(id)"
    }

    private func startReading() {
        let stdoutHandle = stdoutPipe.fileHandleForReading
        let stderrHandle = stderrPipe.fileHandleForReading
        // Weak: a strong capture kept `self` (and so the child, which `deinit` terminates) alive
        // for as long as the child kept stdout open, i.e. forever for a child that never exits.
        Thread.detachNewThread { [weak self] in
            while true {
                let chunk = stdoutHandle.availableData
                guard let self else { return }
                lock.lock()
                if chunk.isEmpty {
                    if !stdoutBuffer.isEmpty {
                        lines.append(String(decoding: stdoutBuffer, as: UTF8.self))
                        stdoutBuffer.removeAll()
                    }
                    stdoutClosed = true
                    lock.broadcast()
                    lock.unlock()
                    return
                }
                stdoutBuffer.append(chunk)
                while let newline = stdoutBuffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: stdoutBuffer[stdoutBuffer.startIndex..<newline], as: UTF8.self)
                    stdoutBuffer.removeSubrange(stdoutBuffer.startIndex...newline)
                    lines.append(line)
                    transcript?.record(direction: "out", line: line)
                }
                lock.broadcast()
                lock.unlock()
            }
        }
        Thread.detachNewThread { [weak self] in
            while true {
                let chunk = stderrHandle.availableData
                guard let self, !chunk.isEmpty else { return }
                lock.lock()
                stderrData.append(chunk)
                lock.unlock()
            }
        }
    }
}

private func ignoreBrokenPipe() {
    signal(SIGPIPE, SIG_IGN)
}

/// Appends `{"dir": "in"|"out", "msg": …}` lines to `$MODELPULL_TRANSCRIPT_DIR/<test>.jsonl` when
/// that variable is set. Lines that are not JSON objects (deliberate garbage) are recorded as
/// `raw` so the validator can skip them.
final class TranscriptRecorder: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()

    init?(name: String) {
        guard let directory = ProcessInfo.processInfo.environment["MODELPULL_TRANSCRIPT_DIR"] else { return nil }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let safe = name.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        let path = (directory as NSString).appendingPathComponent("\(String(safe))-\(UUID().uuidString.prefix(8)).jsonl")
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { return nil }
        self.handle = handle
    }

    func record(direction: String, line: String, raw: Bool = false) {
        let entry: [String: Any]
        if !raw, let data = line.data(using: .utf8), let message = try? JSONSerialization.jsonObject(with: data),
           message is [String: Any] {
            entry = ["dir": direction, "msg": message]
        } else {
            entry = ["dir": direction, "raw": line]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: entry) else { return }
        lock.lock(); defer { lock.unlock() }
        try? handle.write(contentsOf: data + Data("\n".utf8))
    }
}
