import Foundation
import TestSupport
import XCTest

/// One `models/download` with `provider: "ollama"` as the client saw it.
struct OllamaTestRun {
    var notifications: [WireMessage]
    var response: WireMessage?

    var events: [[String: Any]] { ProgressRules.progressParams(notifications) }
    var result: [String: Any]? { response?.resultObject }
    var errorKind: String? { response?.errorData?["kind"] as? String }
    var errorMessage: String { response?.error?["message"] as? String ?? "" }
    var statuses: [String] { events.compactMap { $0["status"] as? String } }
    var messages: [String] { events.compactMap { $0["message"] as? String } }

    /// Status changes in order, repeats collapsed: ["starting", "downloading", …].
    var phases: [String] {
        statuses.reduce(into: []) { if $0.last != $1 { $0.append($1) } }
    }

    static func bytes(_ event: [String: Any], _ key: String = "downloadedBytes") -> Int64? {
        (event[key] as? NSNumber)?.int64Value
    }
}

extension ModelPullProcess {
    /// Sends a pull from `ollama` and reads until its response.
    func pull(_ id: Int, _ model: String, from ollama: FakeOllama, extra: [String: Any] = [:],
              timeout: TimeInterval = 30) -> OllamaTestRun {
        var params: [String: Any] = ["provider": "ollama", "model": model, "baseUrl": ollama.baseURL]
        for (key, value) in extra { params[key] = value }
        request(id, "models/download", params)
        let (notifications, response) = self.response(to: id, timeout: timeout)
        return OllamaTestRun(notifications: notifications, response: response)
    }
}

/// A port where nothing listens: a server that started and stopped.
func closedLoopbackPort() throws -> UInt16 {
    let server = try LoopbackHTTPServer { _ in .status(500) }
    let port = server.port
    server.stop()
    return port
}
