import Foundation
import ModelPullCore
import ModelPullRPC

/// `modelpull pull`: one download for a person at a terminal. Progress goes to stderr (a line
/// fitted to the terminal, plain lines otherwise); the local path (or with `--json` the result
/// object) goes to stdout, so `path=$(modelpull pull url …)` works.
enum PullCommand {
    static func run(_ options: PullOptions) -> Never {
        let engine = CommandEngine.make(logLevel: options.logLevel, maxConcurrent: 1)
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
                Console.error("modelpull: \(TerminalText.printable(CommandLineWording.rewrite(error.message)))")
                exit(error.kind == .invalidModel || error.kind == .unsupportedProvider ? 2 : 1)
            }
            let completion = await engine.completion(of: subscription)
            renderer.finish()
            switch completion.outcome {
            case .success(let result):
                summarize(result, seconds: completion.seconds)
                let output = options.json
                    ? JSONWriter().encodeString(WireEncoding.result(completion, result)) : result.path
                Console.write(STDOUT_FILENO, output + "\n")
                exit(0)
            case .failure(let failure):
                Console.error("modelpull: \(failure.kind.rawValue): \(TerminalText.printable(CommandLineWording.rewrite(failure.message)))")
                exit(failure.kind == .cancelled ? 130 : 1)
            }
        }
        withExtendedLifetime(signals) {
            dispatchMain()
        }
    }

    /// A line per file (the first few of a large repository), then what it cost.
    private static func summarize(_ result: DownloadResult, seconds: Double) {
        let shown = result.files.count <= 12 ? result.files : Array(result.files.prefix(10))
        for file in shown {
            Console.error("  \(TerminalText.printable(file.path))  \(ByteFormat.string(file.size))")
        }
        if shown.count < result.files.count { Console.error("  … and \(result.files.count - shown.count) more") }
        if let message = result.message { Console.error(TerminalText.printable(message)) }
        Console.error("Downloaded \(result.files.count) file(s): \(ByteFormat.string(result.bytesDownloaded)) transferred, "
            + "\(ByteFormat.string(result.bytesReused)) reused, in \(String(format: "%.1f", seconds)) s")
    }
}

extension Error {
    /// The message to show a person: a download failure's own words, else the description.
    var message: String {
        (self as? DownloadFailure)?.message ?? "\(self)"
    }
}
