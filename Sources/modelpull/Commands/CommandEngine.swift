import Foundation
import ModelPullCore

/// The engine every command runs: the built-in providers in this process's context, logging
/// where the command says.
enum CommandEngine {
    static func make(logLevel: LogLevel, maxConcurrent: Int = 1) -> DownloadEngine {
        make(log: log(logLevel), maxConcurrent: maxConcurrent)
    }

    static func make(log: LogSink, maxConcurrent: Int) -> DownloadEngine {
        DownloadEngine(registry: .builtIn, context: ProviderCatalog.context(log: log), maxConcurrent: maxConcurrent)
    }

    static func log(_ level: LogLevel) -> LogSink {
        LogSink { messageLevel, message in
            if messageLevel <= level { Console.error("modelpull: \(messageLevel): \(message)") }
        }
    }
}
