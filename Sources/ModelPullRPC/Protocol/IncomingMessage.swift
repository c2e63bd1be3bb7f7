/// One decoded message from the client, classified by the JSON-RPC 2.0 rules.
enum IncomingMessage: Sendable {
    case request(id: RequestID, method: String, params: JSONValue?)
    case notification(method: String, params: JSONValue?)
    /// A response from the client: we never send requests, so these are ignored.
    case response
    /// Not a valid message. `id` is the request's id when it could be read, so the error can
    /// still be matched to it; otherwise the reply carries `id: null`.
    case invalid(id: RequestID?, error: RPCError)

    init(_ value: JSONValue) {
        if case .array = value {
            self = .invalid(id: nil, error: .invalidRequest(
                "batches are not supported; send one message per line", reason: "batch_unsupported"))
            return
        }
        guard case .object(let object) = value else {
            self = .invalid(id: nil, error: .invalidRequest("a message must be a JSON object", reason: "not_an_object"))
            return
        }
        let rawId = object["id"]
        var id: RequestID?
        if let rawId, !rawId.isNull {
            guard let parsed = RequestID(rawId) else {
                self = .invalid(id: nil, error: .invalidRequest(
                    "`id` must be a string or an integer, got \(rawId.typeName)", reason: "invalid_id"))
                return
            }
            id = parsed
        }
        guard object["jsonrpc"] == .string("2.0") else {
            self = .invalid(id: id, error: .invalidRequest("`jsonrpc` must be \"2.0\"", reason: "invalid_jsonrpc_version"))
            return
        }
        guard let methodValue = object["method"] else {
            if object.contains(key: "result") || object.contains(key: "error") {
                self = .response
            } else {
                self = .invalid(id: id, error: .invalidRequest("`method` is missing", reason: "missing_method"))
            }
            return
        }
        guard let method = methodValue.stringValue else {
            self = .invalid(id: id, error: .invalidRequest("`method` must be a string", reason: "missing_method"))
            return
        }
        // `"params": null` means no params: pygls sends it for a call without any.
        let params = object["params"].flatMap { $0.isNull ? nil : $0 }
        if let params, params.objectValue == nil, params.arrayValue == nil {
            self = .invalid(id: id, error: .invalidRequest("`params` must be an object or an array", reason: "invalid_params_type"))
            return
        }
        if let rawId, rawId.isNull {
            // JSON-RPC allows a null id, but it cannot be told apart from our replies to
            // unparseable input; MCP and LSP forbid it too.
            self = .invalid(id: nil, error: .invalidRequest("`id` must not be null", reason: "invalid_id"))
            return
        }
        if let id {
            self = .request(id: id, method: method, params: params)
        } else {
            self = .notification(method: method, params: params)
        }
    }
}
