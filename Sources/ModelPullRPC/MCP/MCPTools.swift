import ModelPullCore

/// The tools an agent sees: names, descriptions and JSON Schemas for their arguments and
/// structured results. The names are the contract in DESIGN.md.
struct MCPTool: Sendable {
    var name: String
    var description: String
    var inputSchema: JSONValue
    var outputSchema: JSONValue?

    var listing: JSONValue {
        var object: JSONObject = ["name": .string(name), "description": .string(description), "inputSchema": inputSchema]
        if let outputSchema { object["outputSchema"] = outputSchema }
        return .object(object)
    }
}

enum MCPTools {
    static let instructions = """
        ModelPull downloads machine-learning models onto this machine: Hugging Face and MLX repos into \
        the huggingface_hub cache, Ollama models through an Ollama server, any http(s) file. Call \
        download_model and wait: progress is reported while it runs. A long download answers \
        {status: "running", downloadId} after a while and goes on; call download_model again with the \
        same arguments to wait for it, list_downloads to see it, cancel_download to stop it.
        """

    static var all: [MCPTool] { [downloadModel, listModels, deleteModel, listProviders, listDownloads, cancelDownload] }

    static func named(_ name: String) -> MCPTool? { all.first { $0.name == name } }

    private static var providerNames: JSONValue { .array(ProviderRegistry.builtIn.names.map(JSONValue.string)) }

    private static func object(_ properties: JSONObject, required: [String] = []) -> JSONValue {
        ["type": "object", "properties": .object(properties), "required": .array(required.map(JSONValue.string)),
         "additionalProperties": false]
    }

    private static func string(_ description: String) -> JSONValue { ["type": "string", "description": .string(description)] }

    static var downloadModel: MCPTool {
        MCPTool(
            name: "download_model",
            description: "Download a model (or one file) to this machine and return where it is. Resumes what an earlier call left, verifies every byte. Reports progress; a long download answers status \"running\" and continues: call again with the same arguments to wait for it.",
            inputSchema: object([
                "provider": ["type": "string", "enum": providerNames,
                             "description": "huggingface or mlx (a Hub repo), ollama (through an Ollama server), url (any http(s) file)"],
                "model": string("org/name or org/name:QUANT (huggingface, mlx), name[:tag] (ollama), an http(s) URL (url)"),
                "revision": string("branch, tag or commit (huggingface, mlx)"),
                "include": ["type": "array", "items": ["type": "string"], "description": "only files matching these globs (huggingface, mlx)"],
                "exclude": ["type": "array", "items": ["type": "string"], "description": "skip files matching these globs (huggingface, mlx)"],
                "token": string("access token for private or gated models; never echoed"),
                "baseUrl": string("the Ollama server or a Hub mirror"),
                "cacheDir": string("the cache to use instead of the default"),
                "localDir": string("plain files in this folder instead of the cache"),
                "sha256": string("expected SHA-256 of the file (url)"),
                "fileName": string("file name to save as (url)"),
                "connections": ["type": "integer", "minimum": 1, "maximum": 64, "description": "parallel connections per file"],
                "stallSeconds": ["type": "number", "exclusiveMinimum": 0, "description": "give up on a connection silent this long"],
                "insecure": ["type": "boolean", "description": "allow a plain-http registry (ollama)"],
                "source": ["type": "string", "enum": ["auto", "server", "registry"],
                           "description": "ollama: through a running Ollama server, straight from the registry into Ollama's store, or auto (the default)"],
            ], required: ["provider", "model"]),
            outputSchema: object([
                "status": ["type": "string", "enum": ["complete", "running"]],
                "downloadId": ["type": "string"],
                "provider": ["type": "string"],
                "model": ["type": "string"],
                "path": ["type": "string"],
                "revision": ["type": ["string", "null"]],
                "files": ["type": "array", "items": ["type": "object"]],
                "bytesDownloaded": ["type": "integer"],
                "bytesReused": ["type": "integer"],
                "seconds": ["type": "number"],
                "downloadedBytes": ["type": "integer"],
                "totalBytes": ["type": "integer"],
                "percent": ["type": "number"],
                "message": ["type": "string"],
            ], required: ["status", "downloadId"]))
    }

    static var listModels: MCPTool {
        MCPTool(name: "list_models",
                description: "List the models already on this machine (the Hugging Face cache, the Ollama store).",
                inputSchema: object(["provider": ["type": "string", "enum": providerNames],
                                     "cacheDir": string("the Hugging Face cache to read"),
                                     "baseUrl": string("the Ollama server to ask")]),
                outputSchema: object(["models": ["type": "array", "items": ["type": "object"]]], required: ["models"]))
    }

    static var deleteModel: MCPTool {
        MCPTool(name: "delete_model", description: "Remove a downloaded model from this machine.",
                inputSchema: object(["provider": ["type": "string", "enum": providerNames], "model": string("the model to remove"),
                                     "cacheDir": string("the Hugging Face cache"), "baseUrl": string("the Ollama server")],
                                    required: ["provider", "model"]),
                outputSchema: object(["provider": ["type": "string"], "model": ["type": "string"], "deleted": ["type": "boolean"],
                                      "freedBytes": ["type": "integer"], "message": ["type": "string"]], required: ["deleted"]))
    }

    static var listProviders: MCPTool {
        MCPTool(name: "list_providers",
                description: "Where models can come from, whether each can serve now, and what is missing (a token, a server).",
                inputSchema: object([:]),
                outputSchema: object(["providers": ["type": "array", "items": ["type": "object"]]], required: ["providers"]))
    }

    static var listDownloads: MCPTool {
        MCPTool(name: "list_downloads", description: "The downloads running or queued now, with their progress.",
                inputSchema: object([:]),
                outputSchema: object(["downloads": ["type": "array", "items": ["type": "object"]]], required: ["downloads"]))
    }

    static var cancelDownload: MCPTool {
        MCPTool(name: "cancel_download",
                description: "Stop a running download (for every caller waiting on it). What arrived is kept for a later call.",
                inputSchema: object(["downloadId": string("from download_model or list_downloads")], required: ["downloadId"]),
                outputSchema: object(["downloadId": ["type": "string"], "cancelled": ["type": "boolean"], "status": ["type": "string"]],
                                     required: ["downloadId", "cancelled"]))
    }
}
