import Foundation
import ModelPullCore
import ModelPullRPC

/// `modelpull serve` and `modelpull mcp`: JSON-RPC (modelpull's API, or MCP) on stdin/stdout
/// until EOF, a signal, `exit`, or the parent dies.
enum ServeCommand {
    static func run(_ options: ServeOptions, parentAtLaunch: pid_t) -> Never {
        // A person who typed `modelpull` at a terminal would otherwise wait for nothing.
        if isatty(STDIN_FILENO) == 1 {
            let speaks = if case .mcp = options.dialect { "MCP (for an agent's host)" } else { "JSON-RPC 2.0" }
            Console.error("modelpull: speaking \(speaks) on stdin (one message per line); Ctrl-D ends. "
                + "For people: `modelpull pull <provider> <model>`, `modelpull --help`.")
        }
        let protocolFD: Int32
        do {
            protocolFD = try StdoutGuard.claimProtocolOutput()
        } catch {
            Console.error("modelpull: cannot set up stdout: \(error)")
            exit(1)
        }
        let logger = Logger(level: options.logLevel)
        let log = logger.sink
        let output = OutputWriter(fd: protocolFD, framing: options.framing.fixedFraming)
        let engine = CommandEngine.make(log: log, maxConcurrent: options.maxConcurrent)
        let server = RPCServer(
            engine: engine, output: output,
            configuration: ServerConfiguration(maxConcurrent: options.maxConcurrent, dialect: options.dialect),
            log: log,
            onExit: { code in
                _ = output.flush(timeout: 0.4)
                _ = logger.flush(timeout: 0.2)
                // Everything that matters is flushed; `_exit` skips atexit handlers and static
                // destructors, which can block on locks other threads hold (as sourcekit-lsp does).
                _exit(code)
            })
        output.setOnPeerGone { reason in
            log(.warning, "stdout is gone (\(reason)); ending")
            Task { await server.end(reason: "stdout closed") }
        }

        let reader = StdinReader(
            framing: options.framing,
            onFramingDetected: { output.setFraming($0) },
            onEvent: { server.receive($0) },
            onEnd: { end in Task { await server.end(reason: "stdin \(end)") } })
        let signals = SignalHandlers { number in
            Task { await server.end(reason: "signal \(number)") }
        }
        let parent = ParentWatch(original: parentAtLaunch) {
            Task { await server.end(reason: "parent process exited") }
        }
        log(.info, "modelpull \(ServerConfiguration.serverVersion) serving (framing \(options.framing.rawValue), max \(options.maxConcurrent) concurrent)")
        reader.start()
        withExtendedLifetime((signals, parent)) {
            dispatchMain()
        }
    }
}
