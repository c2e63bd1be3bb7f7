import ModelPullCore
import ModelPullRPC

/// What the user asked for.
enum Command {
    case serve(ServeOptions)
    case pull(PullOptions)
    case schema(path: String?)
    case version
    case help(topic: String?)

    /// The help text. The providers, and which of them read each `pull` option, come from the
    /// providers themselves.
    static var usage: String {
        let registry = ProviderRegistry.builtIn
        return """
        modelpull: downloads machine-learning models for other programs.

        Usage:
          modelpull [serve] [--framing auto|ndjson|lsp] [--max-concurrent N] [--log-level LEVEL]
              Serve JSON-RPC 2.0 on stdin/stdout (the default). Logs go to stderr.
          modelpull pull <provider> <model> [options]
              Download one model with a progress bar; prints the local path on stdout.
          modelpull schema [FILE | --list]
              Print the OpenRPC document (or FILE from schema/v1) built into this binary.
          modelpull --version | --help

        Providers: \(registry.names.joined(separator: ", ")).

        pull options:
        \(PullFlag.help(registry))
          --log-level LEVEL   error, warning, info, debug, trace (default warning)

        Exit status: 0 done, 1 download failed, 2 usage error, 130 cancelled.
        """
    }

    static func parse(_ arguments: [String]) throws -> Command {
        var cursor = ArgumentCursor(arguments)
        guard let first = cursor.next() else { return .serve(ServeOptions()) }
        switch first {
        case "--version", "-V", "version": return .version
        case "--help", "-h", "help": return .help(topic: cursor.next())
        case "serve": return .serve(try ServeOptions.parse(&cursor))
        case "pull": return .pull(try PullOptions.parse(&cursor))
        case "schema":
            let path = cursor.next()
            guard cursor.isAtEnd else { throw UsageError("schema takes at most one argument") }
            return .schema(path: path)
        default:
            if first.hasPrefix("--") {
                // `modelpull --framing lsp` serves, like `modelpull serve --framing lsp`.
                return .serve(try ServeOptions.parse(&cursor, firstOption: first))
            }
            throw UsageError("unknown command '\(first)'; run `modelpull --help`")
        }
    }
}

struct ServeOptions {
    var framing: FramingChoice = .auto
    var maxConcurrent = 3
    var logLevel: LogLevel = .warning

    static func parse(_ cursor: inout ArgumentCursor, firstOption: String? = nil) throws -> ServeOptions {
        var options = ServeOptions()
        var pending = firstOption
        while let option = pending ?? cursor.next() {
            pending = nil
            switch option {
            case "--framing":
                let text = try cursor.value(for: option)
                guard let choice = FramingChoice(rawValue: text) else {
                    throw UsageError("--framing must be auto, ndjson or lsp, got '\(text)'")
                }
                options.framing = choice
            case "--max-concurrent":
                options.maxConcurrent = try cursor.integer(for: option, in: 1...64)
            case "--log-level":
                options.logLevel = try parseLogLevel(try cursor.value(for: option))
            default:
                throw UsageError("unknown option '\(option)' for serve; run `modelpull --help`")
            }
        }
        return options
    }
}

struct PullOptions {
    var request: DownloadRequest
    var logLevel: LogLevel = .warning

    static func parse(_ cursor: inout ArgumentCursor) throws -> PullOptions {
        var positional: [String] = []
        var request = DownloadRequest(provider: "", model: "")
        var logLevel = LogLevel.warning
        while let argument = cursor.next() {
            switch argument {
            case "--revision": request.revision = try cursor.value(for: argument)
            case "--include": request.include.append(try cursor.value(for: argument))
            case "--exclude": request.exclude.append(try cursor.value(for: argument))
            case "--token": request.token = try cursor.value(for: argument)
            case "--base-url": request.baseURL = try cursor.value(for: argument)
            case "--cache-dir": request.cacheDir = try cursor.value(for: argument)
            case "--local-dir": request.localDir = try cursor.value(for: argument)
            case "--sha256": request.sha256 = try cursor.value(for: argument)
            case "--file-name": request.fileName = try cursor.value(for: argument)
            case "--connections": request.connections = try cursor.integer(for: argument, in: 1...64)
            case "--log-level": logLevel = try parseLogLevel(try cursor.value(for: argument))
            default:
                if argument.hasPrefix("--") { throw UsageError("unknown option '\(argument)' for pull; run `modelpull --help`") }
                positional.append(argument)
            }
        }
        guard positional.count == 2 else {
            throw UsageError("pull needs a provider and a model, like `modelpull pull huggingface org/name`")
        }
        request.provider = positional[0]
        request.model = positional[1]
        do {
            try request.checkParameters()
            try ProviderRegistry.builtIn.checkApplicable(request)
        } catch {
            throw UsageError("\(PullOptions.flag(for: error.field)) must be \(error.expected), got \(error.received)")
        }
        return PullOptions(request: request, logLevel: logLevel)
    }
}

/// A `pull` option that sets a download parameter.
struct PullFlag {
    var flag: String
    var value: String
    var parameter: DownloadParameter
    var summary: String

    static let all: [PullFlag] = [
        PullFlag(flag: "--revision", value: "R", parameter: .revision, summary: "branch, tag or commit"),
        PullFlag(flag: "--include", value: "GLOB", parameter: .include, summary: "only files matching GLOB (repeatable)"),
        PullFlag(flag: "--exclude", value: "GLOB", parameter: .exclude, summary: "skip files matching GLOB (repeatable)"),
        PullFlag(flag: "--token", value: "T", parameter: .token,
                 summary: "access token (prefer HF_TOKEN in the environment: arguments are visible to other users)"),
        PullFlag(flag: "--base-url", value: "URL", parameter: .baseUrl, summary: "provider endpoint: an Ollama server, a Hub mirror"),
        PullFlag(flag: "--cache-dir", value: "DIR", parameter: .cacheDir, summary: "cache to use instead of the default"),
        PullFlag(flag: "--local-dir", value: "DIR", parameter: .localDir, summary: "plain files in DIR instead of the cache"),
        PullFlag(flag: "--sha256", value: "HEX", parameter: .sha256, summary: "expected SHA-256"),
        PullFlag(flag: "--file-name", value: "NAME", parameter: .fileName, summary: "file name to save as"),
        PullFlag(flag: "--connections", value: "N", parameter: .connections, summary: "parallel connections per file"),
    ]

    /// One line per flag, naming the providers that read it unless all of them do.
    static func help(_ registry: ProviderRegistry) -> String {
        all.map { flag in
            let readers = registry.names(reading: flag.parameter)
            let scope = readers.count == registry.names.count ? "" : " (\(readers.joined(separator: ", ")))"
            let left = "\(flag.flag) \(flag.value)"
            return "  " + left.padding(toLength: max(18, left.count), withPad: " ", startingAt: 0) + "  " + flag.summary + scope
        }.joined(separator: "\n")
    }
}

extension PullOptions {
    /// The flag that sets a request field, for errors at the command line.
    static func flag(for field: String) -> String {
        "--" + field.unicodeScalars.map { ("A"..."Z").contains($0) ? "-" + String($0).lowercased() : String($0) }.joined()
    }
}

func parseLogLevel(_ text: String) throws -> LogLevel {
    switch text.lowercased() {
    case "error": return .error
    case "warning", "warn": return .warning
    case "info": return .info
    case "debug": return .debug
    case "trace": return .trace
    default: throw UsageError("--log-level must be error, warning, info, debug or trace, got '\(text)'")
    }
}
