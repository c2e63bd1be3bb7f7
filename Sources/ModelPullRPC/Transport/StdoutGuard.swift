#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps stdout for the protocol alone.
///
/// Any stray `print`, library chatter or child process output on fd 1 would corrupt the
/// message stream. `claimProtocolOutput()` duplicates the real stdout to a private descriptor
/// for the `OutputWriter`, then points fd 1 at stderr so everything else lands in the log
/// (the approach sourcekit-lsp takes).
public enum StdoutGuard {
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public let operation: String
        public let errno: Int32
        public var description: String { "\(operation) failed: \(String(cString: strerror(errno)))" }
    }

    /// Returns a new descriptor for protocol output, redirects `stdoutFD` to `stderrFD`, and
    /// ignores SIGPIPE. Call once at startup, before any output and before threads print.
    /// The parameters exist for tests; production uses the defaults.
    public static func claimProtocolOutput(
        stdoutFD: Int32 = STDOUT_FILENO,
        stderrFD: Int32 = STDERR_FILENO
    ) throws(Failure) -> Int32 {
        ignoreBrokenPipeSignal()
        // Anything already buffered by C stdio belongs to the old destination.
        fflush(nil)
        let protocolFD = dup(stdoutFD)
        guard protocolFD >= 0 else { throw Failure(operation: "dup(stdout)", errno: errno) }
        // Child processes must not inherit (and hold open) the protocol pipe.
        _ = fcntl(protocolFD, F_SETFD, FD_CLOEXEC)
        guard dup2(stderrFD, stdoutFD) >= 0 else {
            let code = errno
            close(protocolFD)
            throw Failure(operation: "dup2(stderr, stdout)", errno: code)
        }
        return protocolFD
    }

    /// Makes writes to a closed pipe fail with EPIPE instead of killing the process.
    /// Idempotent; process-wide.
    public static func ignoreBrokenPipeSignal() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}
