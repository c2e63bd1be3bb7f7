import ModelPullCore
import ModelPullRPC

/// What the user asked for.
enum Command {
    case serve(ServeOptions)
    case pull(PullOptions)
    case schema(path: String?)
    case version
    case help(topic: String?)

    static let usage = """
    modelpull: downloads machine-learning models for other programs.

    Usage:
      modelpull [serve] [--framing auto|ndjson|lsp] [--max-concurrent N] [--log-level LEVEL]
          Serve JSON-RPC 2.0 on stdin/stdout (the default). Logs go to stderr.
      modelpull pull <provider> <model> [options]
          Download one model with a progress bar; prints the local path on stdout.
      modelpull schema [FILE | --list]
          Print the OpenRPC document (or FILE from schema/v1) built into this binary.
      modelpull --version | --help

    Providers: huggingface, mlx, ollama, url.

    pull options:
      --revision R        branch, tag or commit (huggingface, mlx)
      --include GLOB      only files matching GLOB (repeatable)
      --exclude GLOB      skip files matching GLOB (repeatable)
      --token T           access token (prefer HF_TOKEN in the environment: arguments are visible to other users)
      --base-url URL      provider endpoint (ollama server, hub mirror)
      --cache-dir DIR     cache to use instead of the default
      --local-dir DIR     plain files in DIR instead of the cache
      --sha256 HEX        expected SHA-256 (url)
      --file-name NAME    file name to save as (url)
      --connections N     parallel connections per file
      --log-level LEVEL   error, warning, info, debug, trace (default warning)

    Exit status: 0 done, 1 download failed, 2 usage error, 130 cancelled.
    """

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
        } catch {
            throw UsageError("\(PullOptions.flag(for: error.field)) must be \(error.expected), got \(error.received)")
        }
        return PullOptions(request: request, logLevel: logLevel)
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
