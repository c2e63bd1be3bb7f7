import ModelPullCore

/// What `--help` prints: the overview, and one page per command. The providers, and which of
/// them read each `pull` option, come from the providers themselves.
enum HelpText {
    enum Topic: String, CaseIterable {
        case general, pull, list, rm, providers, serve, mcp, schema

        /// A command's help page by the name or alias the person typed.
        static func named(_ name: String) -> Topic? {
            switch name {
            case "ls": .list
            case "remove": .rm
            case "general": nil
            default: Topic(rawValue: name)
            }
        }

        static var commandNames: String {
            allCases.filter { $0 != .general }.map(\.rawValue).joined(separator: ", ")
        }
    }

    static func isHelpFlag(_ argument: String) -> Bool { argument == "--help" || argument == "-h" }

    static func text(_ topic: Topic, registry: ProviderRegistry = .builtIn) -> String {
        switch topic {
        case .general: general(registry)
        case .pull: pull(registry)
        case .list: list
        case .rm: remove
        case .providers: providers
        case .serve: serve
        case .mcp: mcp
        case .schema: schema
        }
    }

    /// Two columns, the second starting at column 22 (or after a long first column).
    static func row(_ left: String, _ right: String) -> String {
        "  " + left.padding(toLength: max(18, left.count), withPad: " ", startingAt: 0) + "  " + right
    }

    private static func general(_ registry: ProviderRegistry) -> String {
        """
        modelpull: downloads machine-learning models for people and for other programs.

        Usage:
          modelpull pull <provider> <model> [options]
              Download a model, with a progress bar; prints where it is.
          modelpull list [provider]
              The models already on this machine.
          modelpull rm <provider> <model>
              Remove a downloaded model.
          modelpull providers
              Where models come from, and whether each can serve now.
          modelpull [serve]
              Speak JSON-RPC 2.0 on stdin/stdout, for programs (the default).
          modelpull mcp
              Be an MCP server on stdin/stdout, for agents and editors.
          modelpull schema [FILE | --list]
              Print the protocol's OpenRPC document.

        Providers: \(registry.names.joined(separator: ", ")).

        Examples:
          modelpull pull huggingface Qwen/Qwen2.5-0.5B-Instruct
          modelpull pull url https://example.com/model.gguf --sha256 <hex>
          modelpull list

        `modelpull <command> --help` shows a command's options. `modelpull --version` its version.
        Exit status: 0 done, 1 failed, 2 usage error, 130 cancelled.
        """
    }

    private static func pull(_ registry: ProviderRegistry) -> String {
        """
        Usage: modelpull pull <provider> <model> [options]

        Downloads one model and prints its local path on stdout, so `path=$(modelpull pull …)`
        works; progress goes to stderr. Ctrl-C cancels and keeps what arrived: the same command
        resumes it.

        Models: org/name or org/name:QUANT (huggingface, mlx), name[:tag] (ollama), an http(s)
        URL (url).

        Options:
        \(PullFlag.help(registry))
        \(row("--json", "print the result (path, files, bytes) as JSON instead of the path"))
        \(row("--log-level LEVEL", "error, warning, info, debug, trace (default warning)"))

        An option the provider does not use is refused, not ignored.
        """
    }

    private static let list = """
        Usage: modelpull list [provider] [options]

        Lists the models on this machine: the Hugging Face cache (huggingface, mlx) and an Ollama
        server's store (ollama). Without a provider, a store that cannot answer is skipped.

        Options:
        \(row("--cache-dir DIR", "the Hugging Face cache to read instead of the default"))
        \(row("--base-url URL", "the Ollama server to ask"))
        \(row("--json", "print the list as JSON (as models/list answers it)"))
        """

    private static let remove = """
        Usage: modelpull rm <provider> <model> [options]

        Removes a downloaded model: a whole repository from the Hugging Face cache, or a model
        from Ollama (its layers stay while other models use them).

        Options:
        \(row("--cache-dir DIR", "the Hugging Face cache to remove from"))
        \(row("--base-url URL", "the Ollama server to ask"))
        """

    private static let providers = """
        Usage: modelpull providers [--json]

        Lists the providers, whether each can serve now and, when not, why.
        """

    private static let serve = """
        Usage: modelpull [serve] [--framing auto|ndjson|lsp] [--max-concurrent N] [--log-level LEVEL]

        Speaks JSON-RPC 2.0 on stdin and stdout for a program that spawned it: one request per
        line (or LSP Content-Length framing), responses and progress notifications on stdout,
        logs on stderr. The protocol is in schema/v1 and `modelpull schema`.

        Options:
        \(row("--framing F", "auto (detect from the first byte), ndjson or lsp"))
        \(row("--max-concurrent N", "downloads running at once, 1 to 64 (default 3)"))
        \(row("--log-level LEVEL", "error, warning, info, debug, trace (default warning)"))
        """

    private static let mcp = """
        Usage: modelpull mcp [--mcp-call-seconds S] [--max-concurrent N] [--log-level LEVEL]

        An MCP server over stdio (newline-delimited JSON-RPC) with the tools download_model,
        list_models, delete_model, list_providers, list_downloads and cancel_download. An MCP
        host starts it from its config: {"command": "modelpull", "args": ["mcp"]}; hosts pass a
        minimal environment, so put HF_TOKEN, HF_HOME or OLLAMA_HOST in that entry's "env".

        Options:
        \(row("--mcp-call-seconds S", "answer a long download_model with status \"running\" after S seconds (default 45)"))
        \(row("--max-concurrent N", "downloads running at once, 1 to 64 (default 3)"))
        \(row("--log-level LEVEL", "error, warning, info, debug, trace (default warning); logs go to stderr"))
        """

    private static let schema = """
        Usage: modelpull schema [FILE | --list]

        Prints the OpenRPC document built into this binary, or FILE from schema/v1
        (`--list` names them).
        """
}
