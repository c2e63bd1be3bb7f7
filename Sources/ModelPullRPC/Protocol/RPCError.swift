import ModelPullCore

/// A JSON-RPC error object, ready to send.
public struct RPCError: Error, Sendable, Equatable {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var json: JSONValue {
        var object: JSONObject = ["code": .integer(Int64(code)), "message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }

    // MARK: Standard errors (JSON-RPC 2.0)

    public static func parseError(_ detail: String) -> RPCError {
        RPCError(code: -32700, message: "Parse error: \(detail)", data: ["reason": .string(detail)])
    }

    public static func invalidRequest(_ message: String, reason: String) -> RPCError {
        RPCError(code: -32600, message: "Invalid request: \(message)", data: ["reason": .string(reason)])
    }

    public static func methodNotFound(_ method: String) -> RPCError {
        // The name is the client's own text: quote a bounded prefix of it.
        let name = method.count > 200 ? String(method.prefix(200)) + "…" : method
        return RPCError(code: -32601, message: "Method not found: '\(name)'. Call rpc.discover for the list of methods.",
                        data: ["method": .string(name)])
    }

    /// -32602 naming the field, what was expected and what arrived.
    public static func invalidParams(field: String, expected: String, received: String? = nil,
                                     reason: String? = nil) -> RPCError {
        var data: JSONObject = ["field": .string(field), "expected": .string(expected)]
        if let received { data["received"] = .string(received) }
        if let reason { data["reason"] = .string(reason) }
        let got = received.map { ", got \($0)" } ?? ""
        return RPCError(code: -32602, message: "Invalid params: `\(field)` must be \(expected)\(got)",
                        data: .object(data))
    }

    /// -32602 for a parameter whose value (or presence) the engine refuses.
    public static func invalidParams(_ problem: DownloadRequest.ParameterProblem) -> RPCError {
        invalidParams(field: "params.\(problem.field)", expected: problem.expected, received: problem.received)
    }

    public static func internalError(_ reason: String) -> RPCError {
        RPCError(code: -32603, message: "Internal error: \(reason)", data: ["reason": .string(reason)])
    }

    // MARK: Application errors (1000–1099)

    /// The error code of each kind; stable across versions (clients switch on `data.kind`).
    public static func code(for kind: ErrorKind) -> Int {
        switch kind {
        case .unsupportedProvider: return 1001
        case .invalidModel: return 1002
        case .notFound: return 1003
        case .authRequired: return 1004
        case .accessDenied: return 1005
        case .gated: return 1006
        case .rateLimited: return 1007
        case .network: return 1008
        case .upstream: return 1009
        case .integrity: return 1010
        case .diskFull: return 1011
        case .storage: return 1012
        case .providerUnavailable: return 1013
        case .cancelled: return 1014
        case .unsupportedProtocolVersion: return 1015
        }
    }

    /// An application error from a download failure, with the job's identity when there is one.
    public static func application(_ failure: DownloadFailure, downloadId: String? = nil,
                                   provider: String? = nil, model: String? = nil) -> RPCError {
        RPCError(code: code(for: failure.kind), message: failure.message,
                 data: WireEncoding.errorData(failure, downloadId: downloadId, provider: provider, model: model))
    }
}
