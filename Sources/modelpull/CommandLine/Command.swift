import ModelPullCore
import ModelPullRPC

/// What the user asked for.
enum Command {
    case serve(ServeOptions)
    case mcp(ServeOptions)
    case pull(PullOptions)
    case list(ListOptions)
    case remove(RemoveOptions)
    case providers(ProvidersOptions)
    case schema(path: String?)
    case version
    case help(HelpText.Topic)

    static func parse(_ arguments: [String]) throws -> Command {
        var cursor = ArgumentCursor(arguments)
        guard let first = cursor.next() else { return .serve(ServeOptions()) }
        if let topic = HelpText.Topic.named(first), arguments.dropFirst().contains(where: HelpText.isHelpFlag) {
            return .help(topic)
        }
        switch first {
        case "--version", "-V", "version": return .version
        case "--help", "-h", "help":
            guard let name = cursor.next() else { return .help(.general) }
            guard let topic = HelpText.Topic.named(name) else {
                throw UsageError("no command '\(name)'; the commands are \(HelpText.Topic.commandNames)")
            }
            return .help(topic)
        case "serve": return .serve(try ServeOptions.parse(&cursor))
        case "mcp": return .mcp(try ServeOptions.parseMCP(&cursor))
        case "pull": return .pull(try PullOptions.parse(&cursor))
        case "list", "ls": return .list(try ListOptions.parse(&cursor))
        case "rm", "remove": return .remove(try RemoveOptions.parse(&cursor))
        case "providers": return .providers(try ProvidersOptions.parse(&cursor))
        case "schema":
            let path = cursor.next()
            guard cursor.isAtEnd else { throw UsageError("schema takes at most one argument; run `modelpull schema --help`") }
            return .schema(path: path)
        default:
            if first.hasPrefix("--") {
                // `modelpull --framing lsp` serves, like `modelpull serve --framing lsp`.
                return .serve(try ServeOptions.parse(&cursor, firstOption: first))
            }
            throw UsageError("unknown command '\(first)'; the commands are \(HelpText.Topic.commandNames); run `modelpull --help`")
        }
    }
}

struct ServeOptions {
    var framing: FramingChoice = .auto
    var maxConcurrent = 3
    var logLevel: LogLevel = .warning
    var dialect: ProtocolDialect = .native

    /// `modelpull mcp [--mcp-call-seconds S] [--max-concurrent N] [--log-level LEVEL]`: MCP over
    /// stdio, which is newline-delimited JSON only.
    static func parseMCP(_ cursor: inout ArgumentCursor) throws -> ServeOptions {
        var options = ServeOptions(framing: .ndjson)
        var callSeconds = 45.0
        while let option = cursor.next() {
            switch option {
            case "--mcp-call-seconds":
                let text = try cursor.value(for: option)
                guard let seconds = Double(text), seconds.isFinite, (0.1...3600).contains(seconds) else {
                    throw UsageError("--mcp-call-seconds must be a number of seconds from 0.1 to 3600, got '\(text)'")
                }
                callSeconds = seconds
            case "--max-concurrent":
                options.maxConcurrent = try cursor.integer(for: option, in: 1...64)
            case "--log-level":
                options.logLevel = try LogLevelOption.parse(try cursor.value(for: option))
            default:
                throw UsageError("unknown option '\(option)' for mcp; run `modelpull mcp --help`")
            }
        }
        options.dialect = .mcp(MCPSession(callSeconds: callSeconds))
        return options
    }

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
                options.logLevel = try LogLevelOption.parse(try cursor.value(for: option))
            default:
                throw UsageError("unknown option '\(option)' for serve; run `modelpull serve --help`")
            }
        }
        return options
    }
}

/// `modelpull list [provider] [--cache-dir DIR] [--base-url URL] [--json]`.
struct ListOptions {
    var provider: String?
    var query = LocalModelQuery(cacheDir: nil, baseURL: nil)
    var json = false

    static func parse(_ cursor: inout ArgumentCursor) throws -> ListOptions {
        var options = ListOptions()
        var positional: [String] = []
        while let argument = cursor.next() {
            if try options.query.parseOption(argument, &cursor) { continue }
            switch argument {
            case "--json":
                try cursor.flag(argument)
                options.json = true
            default:
                if argument.hasPrefix("-") { throw UsageError("unknown option '\(argument)' for list; run `modelpull list --help`") }
                positional.append(argument)
            }
        }
        guard positional.count <= 1 else { throw UsageError("list takes at most one provider, like `modelpull list huggingface`") }
        options.provider = positional.first
        return options
    }
}

/// `modelpull rm <provider> <model> [--cache-dir DIR] [--base-url URL]`.
struct RemoveOptions {
    var provider: String
    var model: String
    var query = LocalModelQuery(cacheDir: nil, baseURL: nil)

    static func parse(_ cursor: inout ArgumentCursor) throws -> RemoveOptions {
        var query = LocalModelQuery(cacheDir: nil, baseURL: nil)
        var positional: [String] = []
        while let argument = cursor.next() {
            if try query.parseOption(argument, &cursor) { continue }
            if argument.hasPrefix("-") { throw UsageError("unknown option '\(argument)' for rm; run `modelpull rm --help`") }
            positional.append(argument)
        }
        guard positional.count == 2 else {
            throw UsageError("rm needs a provider and a model, like `modelpull rm huggingface org/name`")
        }
        return RemoveOptions(provider: positional[0], model: positional[1], query: query)
    }
}

/// `modelpull providers [--json]`.
struct ProvidersOptions {
    var json = false

    static func parse(_ cursor: inout ArgumentCursor) throws -> ProvidersOptions {
        var options = ProvidersOptions()
        while let argument = cursor.next() {
            guard argument == "--json" else {
                throw UsageError("unknown argument '\(argument)' for providers; run `modelpull providers --help`")
            }
            try cursor.flag(argument)
            options.json = true
        }
        return options
    }
}

extension LocalModelQuery {
    /// `--cache-dir DIR` and `--base-url URL`, where `list` and `rm` look; false for anything else.
    mutating func parseOption(_ argument: String, _ cursor: inout ArgumentCursor) throws -> Bool {
        switch argument {
        case "--cache-dir": cacheDir = try cursor.value(for: argument)
        case "--base-url": baseURL = try cursor.value(for: argument)
        default: return false
        }
        return true
    }
}

enum LogLevelOption {
    static func parse(_ text: String) throws -> LogLevel {
        guard let level = LogLevel(name: text), level != .off else {
            throw UsageError("--log-level must be error, warning, info, debug or trace, got '\(text)'")
        }
        return level
    }
}
