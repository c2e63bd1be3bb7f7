import Foundation
import ModelPullCore
import ModelPullRPC

/// `modelpull pull`: one download for a person at a terminal. Progress goes to stderr (a bar on
/// a terminal, plain lines otherwise); the local path goes to stdout, so
/// `path=$(modelpull pull url …)` works.
enum PullCommand {
    static func run(_ options: PullOptions) -> Never {
        let level = options.logLevel
        let log = LogSink { messageLevel, message in
            if messageLevel <= level { Console.error("modelpull: \(messageLevel): \(message)") }
        }
        let engine = DownloadEngine(registry: .builtIn, context: ProviderCatalog.context(log: log),
                                    maxConcurrent: 1)
        let renderer = ProgressRenderer(interactive: isatty(STDERR_FILENO) == 1)
        let request = options.request
        let signals = SignalHandlers { _ in
            Task { await engine.shutdown() }
        }

        Task {
            let subscription: DownloadEngine.Subscription
            do throws(DownloadFailure) {
                subscription = try await engine.submit(request) { renderer.render($0) }
            } catch {
                renderer.finish()
                Console.error("modelpull: \(error.message)")
                exit(error.kind == .invalidModel || error.kind == .unsupportedProvider ? 2 : 1)
            }
            let completion = await engine.completion(of: subscription)
            renderer.finish()
            switch completion.outcome {
            case .success(let result):
                Console.error("Downloaded \(result.files.count) file(s), \(ByteFormat.string(result.bytesDownloaded)) transferred, \(ByteFormat.string(result.bytesReused)) reused, in \(String(format: "%.1f", completion.seconds)) s")
                Console.write(STDOUT_FILENO, result.path + "\n")
                exit(0)
            case .failure(let failure):
                Console.error("modelpull: \(failure.kind.rawValue): \(failure.message)")
                exit(failure.kind == .cancelled ? 130 : 1)
            }
        }
        withExtendedLifetime(signals) {
            dispatchMain()
        }
    }
}

/// Draws progress for people: one redrawn line with a bar, speed and ETA on a terminal; a plain
/// line per status change or every few seconds otherwise (logs stay readable).
final class ProgressRenderer: @unchecked Sendable {
    private let interactive: Bool
    private let lock = NSLock()
    private var lastStatus: DownloadStatus?
    private var lastPlainLine: Double = 0
    private var drewBar = false

    init(interactive: Bool) {
        self.interactive = interactive
    }

    func render(_ snapshot: ProgressSnapshot) {
        lock.lock(); defer { lock.unlock() }
        let statusChanged = snapshot.status != lastStatus
        lastStatus = snapshot.status
        if interactive {
            if statusChanged, drewBar { Console.write(STDERR_FILENO, "\n") }
            Console.write(STDERR_FILENO, "\r\u{1B}[2K" + Self.barLine(snapshot))
            drewBar = true
        } else {
            let now = monotonicNow()
            guard statusChanged || now - lastPlainLine >= 5 else { return }
            lastPlainLine = now
            Console.write(STDERR_FILENO, Self.plainLine(snapshot) + "\n")
        }
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if interactive, drewBar { Console.write(STDERR_FILENO, "\n") }
        drewBar = false
    }

    static func barLine(_ snapshot: ProgressSnapshot) -> String {
        let width = 24
        let filled = Int(((snapshot.percent ?? 0) / 100 * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        return "\(bar) \(details(snapshot))"
    }

    static func plainLine(_ snapshot: ProgressSnapshot) -> String {
        "[\(snapshot.status.rawValue)] \(details(snapshot))"
    }

    private static func details(_ snapshot: ProgressSnapshot) -> String {
        var parts: [String] = []
        if let percent = snapshot.percent { parts.append(String(format: "%5.1f%%", percent)) }
        if let total = snapshot.totalBytes {
            parts.append("\(ByteFormat.string(snapshot.downloadedBytes))/\(ByteFormat.string(total))")
        } else if snapshot.downloadedBytes > 0 {
            parts.append(ByteFormat.string(snapshot.downloadedBytes))
        }
        if let speed = snapshot.bytesPerSecond, speed > 0 { parts.append("\(ByteFormat.string(Int64(speed)))/s") }
        if let eta = snapshot.etaSeconds, eta.isFinite { parts.append("ETA \(formatDuration(eta))") }
        parts.append(snapshot.message)
        return parts.joined(separator: "  ")
    }

    private static func formatDuration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
        if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total)s"
    }

    private func monotonicNow() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }
}

extension Error {
    /// The message to show a person: a download failure's own words, else the description.
    var message: String {
        (self as? DownloadFailure)?.message ?? "\(self)"
    }
}
