import Foundation
import ModelPullCore

/// Draws one job's progress for a person on stderr. On a terminal: one line redrawn in place,
/// fitted to the terminal's width at every draw (a resized window never leaves wrapped copies
/// behind). Elsewhere (a log file, a pipe): a plain line per status change, or every few seconds.
/// The terminal event is left to the command, which says how the job ended exactly once.
final class ProgressRenderer: Sendable {
    private let interactive: Bool
    private let columns: @Sendable () -> Int
    private struct State {
        var lastStatus: DownloadStatus?
        var lastPlainLine: Double = 0
        var drewLine = false
    }
    /// Held while drawing, so lines from two threads never interleave.
    private let state = LockedValue(State())

    /// `columns` is read at every redraw, so the line follows the window's width.
    init(interactive: Bool, columns: @escaping @Sendable () -> Int = { TerminalText.columns() ?? 80 }) {
        self.interactive = interactive
        self.columns = columns
    }

    func render(_ snapshot: ProgressSnapshot) {
        // Failures are said once, by the command; a person at a terminal reads its summary.
        guard !snapshot.status.isTerminal || (!interactive && snapshot.status == .complete) else { return }
        state.withLock { state in
            let statusChanged = snapshot.status != state.lastStatus
            state.lastStatus = snapshot.status
            if interactive {
                Console.write(STDERR_FILENO, "\r\u{1B}[2K" + Self.line(snapshot, columns: columns()))
                state.drewLine = true
            } else {
                let now = monotonicSeconds()
                guard statusChanged || now - state.lastPlainLine >= 5 else { return }
                state.lastPlainLine = now
                Console.write(STDERR_FILENO, Self.plainLine(snapshot) + "\n")
            }
        }
    }

    /// Clears the progress line, so what the command prints next starts on a clean line.
    func finish() {
        state.withLock { state in
            if interactive, state.drewLine { Console.write(STDERR_FILENO, "\r\u{1B}[2K") }
            state.drewLine = false
        }
    }

    /// The redrawn line, never wider than `columns - 1` (the last column would wrap on some
    /// terminals). Figures go first and drop from the least useful when space runs out; the bar
    /// and the message share what is left.
    static func line(_ snapshot: ProgressSnapshot, columns: Int) -> String {
        let limit = max(1, columns - 1)
        var figures = self.figures(snapshot)
        while figures.count > 1, TerminalText.width(figures.joined(separator: "  ")) > limit { figures.removeLast() }
        let core = TerminalText.truncate(figures.joined(separator: "  "), to: limit)
        var left = limit - TerminalText.width(core)
        var line = core
        if let percent = snapshot.percent, left >= 12 {
            let barWidth = min(24, (left - 1) / 2)
            line = bar(percent, width: barWidth) + " " + line
            left -= barWidth + 1
        }
        let message = TerminalText.printable(snapshot.message)
        if left >= 8, !message.isEmpty {
            let gap = line.isEmpty ? "" : "  "
            line += gap + TerminalText.truncate(message, to: left - gap.count)
        }
        return line
    }

    static func plainLine(_ snapshot: ProgressSnapshot) -> String {
        let figures = self.figures(snapshot).joined(separator: "  ")
        return "[\(snapshot.status.rawValue)] " + (figures.isEmpty ? "" : figures + "  ") + TerminalText.printable(snapshot.message)
    }

    /// Percent, bytes, files, speed and time left, most useful first.
    private static func figures(_ snapshot: ProgressSnapshot) -> [String] {
        var parts: [String] = []
        if let percent = snapshot.percent { parts.append(String(format: "%3.0f%%", percent.rounded(.down))) }
        if let total = snapshot.totalBytes {
            parts.append("\(ByteFormat.string(snapshot.downloadedBytes))/\(ByteFormat.string(total))")
        } else if snapshot.downloadedBytes > 0 {
            parts.append(ByteFormat.string(snapshot.downloadedBytes))
        }
        if let speed = snapshot.bytesPerSecond, speed > 0 { parts.append("\(ByteFormat.string(Int64(speed)))/s") }
        if let eta = snapshot.etaSeconds, eta.isFinite { parts.append(duration(eta) + " left") }
        if let total = snapshot.filesTotal, total > 1 { parts.append("\(snapshot.filesDone ?? 0)/\(total) files") }
        return parts
    }

    private static func bar(_ percent: Double, width: Int) -> String {
        let filled = min(width, max(0, Int((percent / 100 * Double(width)).rounded(.down))))
        return String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
        if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total)s"
    }
}
