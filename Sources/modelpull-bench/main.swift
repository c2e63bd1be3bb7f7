// modelpull-bench: the measurements Benchmarks/run.sh needs that the product CLI should not
// carry. Prints one `key=value` line per measurement on stdout for the script to parse.
//
//   modelpull-bench sha256 FILE...            hash each file like `sha256sum` does (read, hash)
//   modelpull-bench hello MODELPULL [RUNS]    spawn → `hello` response latency, RUNS times (20)
//
// `MODELPULL_SHA256_PORTABLE=1` in the environment selects the portable SHA-256, as it does for
// modelpull itself, so both block functions are measured by the same binary and code path.

import Dispatch
import Foundation
import ModelPullCore
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("modelpull-bench: \(message)\n".utf8))
    exit(2)
}

func seconds(since start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

// MARK: sha256

/// Same work as `sha256sum FILE`: read the file through a buffer and hash it. The file read is
/// included on purpose, so the figure compares with the tools' own.
func benchSHA256(_ paths: [String]) {
    guard !paths.isEmpty else { fail("sha256 needs at least one FILE") }
    for path in paths {
        let start = DispatchTime.now().uptimeNanoseconds
        var hasher = SHA256()
        do {
            try hasher.update(contentsOf: URL(fileURLWithPath: path))
        } catch {
            fail("\(path): \(error)")
        }
        let digest = hasher.finalize()
        let elapsed = seconds(since: start)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let mbps = elapsed > 0 ? Double(size) / elapsed / 1e6 : 0
        print("sha256=\(digest.hex) impl=\"\(SHA256.implementation.rawValue)\" bytes=\(size)"
            + " seconds=\(String(format: "%.4f", elapsed)) MBps=\(String(format: "%.1f", mbps))"
            + " file=\(path)")
    }
}

// MARK: hello

/// Spawns `modelpull` with pipes, sends `hello`, and times until the whole response line is
/// read: what a client waits for before it can send its first download. Closing stdin then
/// makes the server exit; that shutdown is not timed.
func spawnHello(_ executable: String) -> Double {
    var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
    guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else { fail("pipe: errno \(errno)") }

    #if canImport(Darwin)
    var actions: posix_spawn_file_actions_t? = nil
    #else
    var actions = posix_spawn_file_actions_t()
    #endif
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
    posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    for fd in [toChild[0], toChild[1], fromChild[0], fromChild[1]] {
        posix_spawn_file_actions_addclose(&actions, fd)
    }

    let request = #"{"jsonrpc":"2.0","id":1,"method":"hello","params":{"protocolVersions":["1.0"],"client":{"name":"modelpull-bench"}}}"# + "\n"
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup(executable), nil]
    defer { argv.forEach { free($0) } }

    let start = DispatchTime.now().uptimeNanoseconds
    var pid: pid_t = 0
    #if canImport(Darwin)
    let environment = _NSGetEnviron().pointee  // Darwin does not export `environ` to Swift
    #else
    let environment = environ
    #endif
    let status = posix_spawn(&pid, executable, &actions, nil, argv, environment)
    guard status == 0 else { fail("cannot spawn \(executable): errno \(status)") }
    close(toChild[0])
    close(fromChild[1])

    let written = request.utf8CString.withUnsafeBufferPointer { buffer in
        write(toChild[1], buffer.baseAddress, buffer.count - 1)  // without the C string's NUL
    }
    guard written == request.utf8.count else { fail("short write to modelpull") }

    var line = [UInt8]()
    var byte: UInt8 = 0
    while true {
        let n = read(fromChild[0], &byte, 1)
        if n == 1 {
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        } else if n == 0 {
            fail("modelpull closed stdout before answering hello")
        } else if errno != EINTR {
            fail("read: errno \(errno)")
        }
    }
    let elapsed = seconds(since: start)

    close(toChild[1])
    close(fromChild[0])
    var exitStatus: Int32 = 0
    waitpid(pid, &exitStatus, 0)

    let text = String(decoding: line, as: UTF8.self)
    guard text.contains(#""protocolVersion""#) else { fail("unexpected hello response: \(text)") }
    return elapsed
}

func benchHello(_ arguments: [String]) {
    guard let executable = arguments.first else { fail("hello needs the path of modelpull") }
    let runs = arguments.count > 1 ? Int(arguments[1]) ?? 0 : 20
    guard runs > 0 else { fail("RUNS must be a positive integer") }
    _ = spawnHello(executable)  // warm-up: page cache, dynamic loader caches
    var times = (0..<runs).map { _ in spawnHello(executable) }
    times.sort()
    let median = runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2
    func ms(_ value: Double) -> String { String(format: "%.2f", value * 1000) }
    print("hello_median_ms=\(ms(median)) min_ms=\(ms(times.first!)) max_ms=\(ms(times.last!)) runs=\(runs)")
}

// MARK: main

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "sha256": benchSHA256(Array(arguments.dropFirst()))
case "hello": benchHello(Array(arguments.dropFirst()))
case "implementation": print("impl=\"\(SHA256.implementation.rawValue)\"")
default:
    fail("usage: modelpull-bench sha256 FILE... | hello MODELPULL [RUNS] | implementation")
}
