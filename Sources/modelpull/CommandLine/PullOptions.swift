import ModelPullCore

/// `modelpull pull <provider> <model> [options]`, parsed into the request the engine runs.
struct PullOptions {
    var request: DownloadRequest
    var logLevel: LogLevel = .warning
    /// Print the result object (as `models/download` answers it) on stdout instead of the path.
    var json = false

    static func parse(_ cursor: inout ArgumentCursor) throws -> PullOptions {
        var positional: [String] = []
        var options = PullOptions(request: DownloadRequest(provider: "", model: ""))
        while let argument = cursor.next() {
            if let flag = PullFlag.named(argument) {
                try flag.apply(&options.request, &cursor)
                continue
            }
            switch argument {
            case "--json":
                try cursor.flag(argument)
                options.json = true
            case "--log-level": options.logLevel = try LogLevelOption.parse(try cursor.value(for: argument))
            default:
                if argument.hasPrefix("-"), argument != "-" {
                    throw UsageError("unknown option '\(argument)' for pull; run `modelpull pull --help`")
                }
                positional.append(argument)
            }
        }
        guard positional.count == 2 else {
            throw UsageError("pull needs a provider and a model, like `modelpull pull huggingface org/name`; run `modelpull pull --help`")
        }
        options.request.provider = positional[0]
        options.request.model = positional[1]
        do {
            try options.request.checkParameters()
            try ProviderRegistry.builtIn.checkApplicable(options.request)
        } catch {
            throw UsageError("\(PullFlag.spelling(of: error.field)) must be \(error.expected), got \(error.received)")
        }
        return options
    }
}

/// A `pull` option that sets a download parameter: one row per parameter, so every parameter a
/// provider reads can be given at the command line and every message can name its flag.
struct PullFlag: Sendable {
    var flag: String
    /// The value's placeholder in help, or nil for a switch.
    var value: String?
    var parameter: DownloadParameter
    var summary: String
    var set: @Sendable (inout DownloadRequest, String) throws -> Void

    static let all: [PullFlag] = [
        PullFlag(flag: "--revision", value: "R", parameter: .revision, summary: "branch, tag or commit") { $0.revision = $1 },
        PullFlag(flag: "--include", value: "GLOB", parameter: .include,
                 summary: "only files matching GLOB (repeatable)") { $0.include.append($1) },
        PullFlag(flag: "--exclude", value: "GLOB", parameter: .exclude,
                 summary: "skip files matching GLOB (repeatable)") { $0.exclude.append($1) },
        PullFlag(flag: "--token", value: "T", parameter: .token,
                 summary: "access token (prefer HF_TOKEN: arguments are visible to other users)") { $0.token = $1 },
        PullFlag(flag: "--base-url", value: "URL", parameter: .baseUrl,
                 summary: "provider endpoint: an Ollama server, a Hub mirror") { $0.baseURL = $1 },
        PullFlag(flag: "--cache-dir", value: "DIR", parameter: .cacheDir, summary: "cache to use instead of the default") { $0.cacheDir = $1 },
        PullFlag(flag: "--local-dir", value: "DIR", parameter: .localDir, summary: "plain files in DIR instead of the cache") { $0.localDir = $1 },
        PullFlag(flag: "--sha256", value: "HEX", parameter: .sha256, summary: "expected SHA-256 of the file") { $0.sha256 = $1 },
        PullFlag(flag: "--file-name", value: "NAME", parameter: .fileName, summary: "file name to save as") { $0.fileName = $1 },
        PullFlag(flag: "--connections", value: "N", parameter: .connections, summary: "parallel connections per file") { request, text in
            guard let number = Int(text) else { throw UsageError("--connections must be an integer, got '\(text)'") }
            request.connections = number
        },
        PullFlag(flag: "--stall-seconds", value: "S", parameter: .stallSeconds,
                 summary: "give up on a connection silent this long (default 30, Ollama 60)") { request, text in
            guard let seconds = Double(text) else { throw UsageError("--stall-seconds must be a number, got '\(text)'") }
            request.stallSeconds = seconds
        },
        PullFlag(flag: "--source", value: "S", parameter: .source,
                 summary: "auto, server (a running Ollama) or registry (straight into Ollama's store)") { $0.source = $1 },
        PullFlag(flag: "--insecure", value: nil, parameter: .insecure,
                 summary: "allow a plain-http registry, like `ollama pull --insecure`") { request, _ in request.insecure = true },
    ]

    static func named(_ flag: String) -> PullFlag? {
        all.first { $0.flag == flag }
    }

    /// The flag for a parameter, or the parameter's own name for one without a flag.
    static func spelling(of field: String) -> String {
        all.first { $0.parameter.rawValue == field }?.flag ?? field
    }

    func apply(_ request: inout DownloadRequest, _ cursor: inout ArgumentCursor) throws {
        if value == nil {
            try cursor.flag(flag)
            try set(&request, "")
        } else {
            try set(&request, try cursor.value(for: flag))
        }
    }

    /// One help line per flag, naming the providers that read it unless all of them do.
    static func help(_ registry: ProviderRegistry) -> String {
        all.map { flag in
            let readers = registry.names(reading: flag.parameter)
            let scope = readers.count == registry.names.count ? "" : " (\(readers.joined(separator: ", ")))"
            return HelpText.row(flag.flag + (flag.value.map { " " + $0 } ?? ""), flag.summary + scope)
        }.joined(separator: "\n")
    }
}
