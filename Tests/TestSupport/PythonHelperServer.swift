import Foundation

/// A loopback server written in Python, for what the Swift toolchain has no server for (TLS, a
/// forward proxy): writes `script` into a folder of its own, runs it with `arguments` (paths in
/// that folder are `folder + "/name"`), and waits for the port it prints on its first line.
/// Stopped with SIGKILL: a child spawned from a test thread can inherit a mask that blocks SIGTERM.
final class PythonHelperServer: @unchecked Sendable {
    let port: Int
    let folder: String
    private let process = Process()

    init(name: String, script: String, files: [String: Data] = [:], arguments: (_ folder: String) -> [String]) throws {
        folder = NSTemporaryDirectory() + "modelpull-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try script.write(toFile: folder + "/server.py", atomically: true, encoding: .utf8)
        for (file, data) in files { try data.write(to: URL(fileURLWithPath: folder + "/" + file)) }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", folder + "/server.py"] + arguments(folder)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: folder)
    }

    deinit { stop() }
}
