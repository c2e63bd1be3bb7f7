import Foundation
import TestSupport
import XCTest

/// `modelpull` started by a shell that the test can kill, to see what the binary does when its
/// parent dies mid-download. Its stdin is a FIFO it opens read-write (so killing the parent
/// never brings EOF) and that the test writes requests into; its stdout is the shell's, which
/// the test reads. No transcript: the session ends with an unanswered request by design.
final class OrphanableServer: @unchecked Sendable {
    let shell = Process()
    let pid: Int32
    private let fifo: String
    private let writer: FileHandle
    private let condition = NSCondition()
    private var lines: [String] = []
    private var closed = false

    init(environment: [String: String] = [:], arguments: [String] = []) throws {
        fifo = NSTemporaryDirectory() + "modelpull-orphan-\(UUID().uuidString)"
        guard mkfifo(fifo, 0o600) == 0 else { throw POSIXError(.EIO) }
        var env = ProcessInfo.processInfo.environment
        env["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME_FOR_TESTS"] ?? NSTemporaryDirectory() + "modelpull-tests-cache"
        for (key, value) in environment {
            if value.isEmpty { env.removeValue(forKey: key) } else { env[key] = value }
        }
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        let quotedArguments = arguments.map { "'\($0)'" }.joined(separator: " ")
        shell.arguments = ["-c", "\"$0\" \(quotedArguments) <> \"$1\" & echo $!; exec sleep 120",
                           ModelPullProcess.binaryURL.path, fifo]
        shell.environment = env
        let output = Pipe()
        shell.standardOutput = output
        shell.standardError = FileHandle.nullDevice
        try shell.run()
        let handle = output.fileHandleForReading
        // The first line is the child's pid (from the shell's `echo`), then the child's messages.
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) ?? buffer.endIndex
        guard let pid = Int32(String(decoding: buffer[..<newline], as: UTF8.self).trimmingCharacters(in: .whitespaces)) else {
            throw POSIXError(.ESRCH)
        }
        self.pid = pid
        let rest = newline < buffer.endIndex ? Data(buffer[buffer.index(after: newline)...]) : Data()
        // The child has the FIFO open read-write, so this open cannot block for long.
        guard let writer = FileHandle(forWritingAtPath: fifo) else { throw POSIXError(.EIO) }
        self.writer = writer
        startReading(handle, initial: rest)
    }

    deinit {
        if isAlive { kill(pid, SIGKILL) }
        if shell.isRunning { shell.terminate() }
        try? writer.close()
        unlink(fifo)
    }

    func request(_ id: Int, _ method: String, _ params: [String: Any]) {
        let message: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method, "params": params]
        let data = try! JSONSerialization.data(withJSONObject: message, options: [.sortedKeys])
        try? writer.write(contentsOf: data + Data("\n".utf8))
    }

    func nextMessage(timeout: TimeInterval = 10) -> WireMessage? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock(); defer { condition.unlock() }
        while lines.isEmpty && !closed {
            if !condition.wait(until: deadline) { return nil }
        }
        return lines.isEmpty ? nil : WireMessage(line: lines.removeFirst())
    }

    /// Kills the shell (the child's parent) with SIGKILL.
    func killParent() {
        kill(shell.processIdentifier, SIGKILL)
    }

    var isAlive: Bool {
        guard kill(pid, 0) == 0 else { return false }
        // An exited child waiting to be reaped is a zombie: not alive.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !stat.contains(") Z ")
    }

    /// Waits for the child to be gone; false when it is still running after `timeout`.
    func waitForChildExit(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while isAlive, Date() < deadline { usleep(20_000) }
        return !isAlive
    }

    private func startReading(_ handle: FileHandle, initial: Data) {
        // Weak, so `deinit` (which kills a child that outlived its parent) can run while the
        // child still holds stdout open.
        Thread.detachNewThread { [weak self] in
            var buffer = initial
            while true {
                do {  // holds `self` only here, never across the blocking read below
                    guard let self else { return }
                    condition.lock()
                    while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                        lines.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                        buffer.removeSubrange(buffer.startIndex...newline)
                    }
                    condition.broadcast()
                    condition.unlock()
                }
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
            }
            guard let self else { return }
            condition.lock()
            closed = true
            condition.broadcast()
            condition.unlock()
        }
    }
}
