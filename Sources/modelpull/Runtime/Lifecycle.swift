import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGTERM and SIGINT into a callback on a queue, instead of the default instant death
/// that would leave partial files without their records.
final class SignalHandlers: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    init(signals: [Int32] = [SIGTERM, SIGINT], handler: @escaping @Sendable (Int32) -> Void) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            sources.append(source)
        }
    }
}

/// Calls back when the process that spawned us dies, so a crashed parent never leaves an
/// orphaned downloader behind. Polling `getppid()` (re-parenting changes it) works on Linux and
/// macOS alike, and unlike PR_SET_PDEATHSIG it is not fooled by the parent's *thread* exiting.
final class ParentWatch: @unchecked Sendable {
    private let timer: DispatchSourceTimer

    /// `original` is the parent read as early as possible at launch, so a parent that dies while
    /// we start up is still noticed.
    init(original: pid_t, interval: DispatchTimeInterval = .milliseconds(250),
         onParentDeath: @escaping @Sendable () -> Void) {
        timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler {
            if getppid() != original { onParentDeath() }
        }
        timer.resume()
    }
}

/// Writes text to stderr, unbuffered, for the human-facing commands.
enum Console {
    static func error(_ text: String) {
        write(STDERR_FILENO, text.hasSuffix("\n") ? text : text + "\n")
    }

    static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}
