import Foundation
import ModelPullCore

/// The engine behind the commands a person types: the built-in providers, logs on stderr at the
/// level asked for.
enum CommandEngine {
    static func make(logLevel: LogLevel, maxConcurrent: Int = 1) -> DownloadEngine {
        DownloadEngine(registry: .builtIn, context: ProviderCatalog.context(log: log(logLevel)), maxConcurrent: maxConcurrent)
    }

    static func log(_ level: LogLevel) -> LogSink {
        LogSink { messageLevel, message in
            if messageLevel <= level { Console.error("modelpull: \(messageLevel): \(message)") }
        }
    }
}
