import Foundation
import ModelPullCore

/// `tools/call`: finds the tool and runs it. Misuse (an unknown tool, arguments of the wrong
/// shape) is a JSON-RPC error; anything the download itself hits is a result with `isError`,
/// so the model reads what to do.
enum MCPToolCall {
    static func handle(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        guard let name = params?["name"]?.stringValue else {
            throw RPCError.invalidParams(field: "params.name", expected: "the name of a tool")
        }
        guard MCPTools.named(name) != nil else {
            throw RPCError.invalidParams(field: "params.name", expected: "one of \(MCPTools.all.map(\.name).joined(separator: ", "))",
                                         received: String(name.prefix(100)))
        }
        let arguments = params?["arguments"]
        if let arguments, arguments.objectValue == nil {
            throw RPCError.invalidParams(field: "params.arguments", expected: "an object", received: arguments.typeName)
        }
        do {
            switch name {
            case "download_model": return try await MCPDownload.run(server, id, arguments, progressToken: params?["_meta"]?["progressToken"])
            case "list_models": return summarize(try await ModelsListMethod.handle(server, id, arguments), key: "models")
            case "delete_model": return summarize(try await ModelsDeleteMethod.handle(server, id, arguments), key: nil)
            case "list_providers": return summarize(try await MCPProviders.list(server), key: "providers")
            case "list_downloads": return summarize(try await DownloadsListMethod.handle(server, id, arguments), key: "downloads")
            default: return summarize(try await DownloadsCancelMethod.handle(server, id, arguments), key: nil)
            }
        } catch let error as RPCError where (1000..<1100).contains(error.code) {
            // The native methods' application errors: the caller's to act on, so a tool result.
            let kind = error.data?["kind"]?.stringValue.flatMap(ErrorKind.init(rawValue:)) ?? .upstream
            let retryable = error.data?["retryable"].flatMap { if case .bool(let b) = $0 { b } else { nil } }
            return MCPResult.failure(DownloadFailure(kind, error.message, retryable: retryable))
        }
    }

    /// The structured result as is, with a line of text a model can read at a glance.
    private static func summarize(_ structured: JSONValue, key: String?) -> JSONValue {
        let text: String
        if let key, let items = structured[key]?.arrayValue {
            text = items.isEmpty ? "No \(key)." : "\(items.count) \(key): " + JSONWriter().encodeString(.array(items))
        } else {
            text = JSONWriter().encodeString(structured)
        }
        return MCPResult.tool(text: text, structured: structured)
    }
}

/// `list_providers`: `providers/list`, plus what an agent's host must set for each to work. MCP
/// hosts start servers with a minimal environment: a token or an Ollama address the user has
/// in their shell is not there unless the host's config passes it.
enum MCPProviders {
    static func list(_ server: RPCServer) async throws -> JSONValue {
        let environment = await server.engine.providerContext.environment
        let entries = await server.engine.providerStatus()
        return ["providers": .array(entries.map { name, summary, availability in
            guard case .object(var entry) = WireEncoding.provider(name: name, summary: summary, availability: availability) else {
                return .null
            }
            if let hint = hint(for: name, environment: environment) { entry["hint"] = .string(hint) }
            return .object(entry)
        })]
    }

    private static func hint(for provider: String, environment: ProcessEnvironment) -> String? {
        switch provider {
        case "huggingface", "mlx" where environment["HF_TOKEN"] == nil && environment["HUGGING_FACE_HUB_TOKEN"] == nil:
            return "No Hugging Face token in this server's environment: public models only. For gated or private ones, add HF_TOKEN to the \"env\" of this server in the MCP host's config (or pass `token`)."
        case "ollama" where environment["OLLAMA_HOST"] == nil:
            return "OLLAMA_HOST is not set for this server, so Ollama is expected at 127.0.0.1:11434; if it runs elsewhere, add OLLAMA_HOST to the \"env\" of this server in the MCP host's config (or pass `baseUrl`)."
        default:
            return nil
        }
    }
}
