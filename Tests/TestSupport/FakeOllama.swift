import Foundation

/// A model in the fake Ollama's store, as `/api/tags` lists it.
public struct FakeOllamaModel: Sendable, Equatable {
    public var name: String
    public var size: Int64
    /// sha256 hex of the manifest.
    public var digest: String
    /// Go's RFC 3339 with nanoseconds and a zone offset, as Ollama sends it.
    public var modifiedAt: String
    public var family: String
    public var parameterSize: String
    public var quantization: String
    /// The first layer's hex digest, for the `FROM …/blobs/sha256-<hex>` line of /api/show.
    public var weightsHex: String

    public init(name: String, size: Int64, digest: String = String(FakeOllamaScenario.digest(99).dropFirst(7)),
                modifiedAt: String = "2025-01-30T09:12:44.123456789-05:00", family: String = "llama",
                parameterSize: String = "1.2B", quantization: String = "Q8_0",
                weightsHex: String = String(FakeOllamaScenario.digest(98).dropFirst(7))) {
        self.name = name
        self.size = size
        self.digest = digest
        self.modifiedAt = modifiedAt
        self.family = family
        self.parameterSize = parameterSize
        self.quantization = quantization
        self.weightsHex = weightsHex
    }
}

/// A fake Ollama server on loopback that answers the routes ModelPull uses the way Ollama does:
/// `POST /api/pull` (streaming and not, per-model scenarios, errors under 200, 400/500 bodies,
/// cuts, stalls, the verify silence), `GET /api/tags`, `DELETE /api/delete`, `POST /api/show`,
/// `GET /api/version` and `HEAD /`.
///
/// A model without a scenario fails like a name the registry does not know:
/// `{"error":"pull model manifest: file does not exist"}` under HTTP 200.
///
///     let ollama = try FakeOllama()
///     ollama.setScenario(.typical(), for: "llama3.2:1b")
///     // … models/download with baseUrl: ollama.baseURL …
public final class FakeOllama: @unchecked Sendable {
    public let http: LoopbackHTTPServer
    public let version: String
    /// The server's models folder, as /api/show's Modelfile reveals it.
    public let modelsDirectory: String

    private let lock = NSCondition()
    private var scenarios: [String: FakeOllamaScenario] = [:]
    private var store: [FakeOllamaModel] = []
    private var disconnects: [String: Int] = [:]

    public init(version: String = "0.12.6", modelsDirectory: String = "/srv/ollama/models") throws {
        self.version = version
        self.modelsDirectory = modelsDirectory
        let router = Router()
        http = try LoopbackHTTPServer(router: router)
        install(routes: router)
    }

    public func stop() { http.stop() }

    /// http://127.0.0.1:<port>
    public var baseURL: String { "http://127.0.0.1:\(http.port)" }

    // MARK: Configuration

    public func setScenario(_ scenario: FakeOllamaScenario, for model: String) {
        locked { scenarios[model] = scenario }
    }

    public func install(_ model: FakeOllamaModel) {
        locked {
            store.removeAll { $0.name == model.name }
            store.append(model)
        }
    }

    public var installedNames: [String] { locked { store.map(\.name) } }

    // MARK: Observations

    /// Bodies of the pull requests received, parsed.
    public var pullBodies: [[String: Any]] {
        http.requests(to: "/api/pull").compactMap { $0.bodyJSON as? [String: Any] }
    }

    /// Pull streams for `model` that ended because the client closed the connection.
    public func disconnects(for model: String) -> Int { locked { disconnects[model] ?? 0 } }

    /// Waits until the client has closed a pull stream for `model`; false on timeout.
    public func waitForDisconnect(of model: String, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock(); defer { lock.unlock() }
        while (disconnects[model] ?? 0) == 0 {
            if !lock.wait(until: deadline) { return (disconnects[model] ?? 0) > 0 }
        }
        return true
    }

    // MARK: Routes

    private func install(routes router: Router) {
        router.get("/") { _ in .text("Ollama is running") }
        router.get("/api/version") { [version] _ in .json(#"{"version":"\#(version)"}"#) }
        router.post("/api/pull") { [weak self] request in self?.pull(request) ?? .status(503) }
        router.get("/api/tags") { [weak self] _ in self?.tags() ?? .status(503) }
        router.delete("/api/delete") { [weak self] request in self?.delete(request) ?? .status(503) }
        router.post("/api/show") { [weak self] request in self?.show(request) ?? .status(503) }
    }

    private func pull(_ request: HTTPRequest) -> HTTPResponse {
        guard let body = request.bodyJSON as? [String: Any],
              let model = (body["model"] as? String) ?? (body["name"] as? String), !model.isEmpty else {
            return .json(#"{"error":"missing request body"}"#, status: 400)
        }
        let streaming = body["stream"] as? Bool ?? true
        guard let scenario = locked({ scenarios[model] }) else {
            let unknown = FakeOllamaScenario(layers: [], failure: .errorLine("pull model manifest: file does not exist", at: .afterManifest))
            return streaming ? stream(unknown, model: model) : buffered(unknown, model: model)
        }
        if scenario.requiresInsecure, body["insecure"] as? Bool != true {
            return .json(#"{"error":"insecure protocol http"}"#, status: 500)
        }
        if case .httpError(let status, let text) = scenario.failure {
            return .json(FakeOllamaScenario.errorLine(text), status: status)
        }
        return streaming && !scenario.ignoresStreamFlag ? stream(scenario, model: model) : buffered(scenario, model: model)
    }

    private func stream(_ scenario: FakeOllamaScenario, model: String) -> HTTPResponse {
        .stream(contentType: "application/x-ndjson") { [weak self] writer in
            do {
                let ending = try FakeOllamaPlayer(scenario: scenario, sink: StreamingLineSink(writer)).play()
                if ending == .succeeded { self?.installPulled(model, scenario) }
            } catch let error as SocketError {
                // The client closed the connection (a cancelled or abandoned pull).
                self?.recordDisconnect(model)
                throw error
            }
        }
    }

    /// `"stream": false`: the last progress object with 200, or the error with 500.
    private func buffered(_ scenario: FakeOllamaScenario, model: String) -> HTTPResponse {
        let sink = LastLineSink()
        let ending = (try? FakeOllamaPlayer(scenario: scenario, sink: sink).play()) ?? .failed
        if ending == .succeeded { installPulled(model, scenario) }
        let last = sink.last ?? FakeOllamaScenario.errorLine("unexpected end of stream")
        return .json(last, status: ending == .succeeded ? 200 : 500)
    }

    private func tags() -> HTTPResponse {
        let entries = locked { store }.map { model -> [String: Any] in
            [
                "name": model.name, "model": model.name, "modified_at": model.modifiedAt, "size": model.size,
                "digest": model.digest,
                "details": [
                    "parent_model": "", "format": "gguf", "family": model.family, "families": [model.family],
                    "parameter_size": model.parameterSize, "quantization_level": model.quantization,
                ] as [String: Any],
            ]
        }
        return .json(data: try! JSONSerialization.data(withJSONObject: ["models": entries], options: [.sortedKeys]))
    }

    private func delete(_ request: HTTPRequest) -> HTTPResponse {
        guard let name = (request.bodyJSON as? [String: Any])?["model"] as? String else {
            return .json(#"{"error":"missing request body"}"#, status: 400)
        }
        let removed: Bool = locked {
            let before = store.count
            store.removeAll { $0.name == name }
            return store.count < before
        }
        // Ollama answers a successful delete with 200 and an empty body.
        return removed ? HTTPResponse(status: 200) : .json(FakeOllamaScenario.errorLine("model '\(name)' not found"), status: 404)
    }

    private func show(_ request: HTTPRequest) -> HTTPResponse {
        let name = (request.bodyJSON as? [String: Any])?["model"] as? String ?? ""
        guard let model = locked({ store.first { $0.name == name } }) else {
            return .json(FakeOllamaScenario.errorLine("model '\(name)' not found"), status: 404)
        }
        let modelfile = """
        # Modelfile generated by "ollama show"
        # To build a new Modelfile based on this, replace FROM with:
        # FROM \(model.name)

        FROM \(modelsDirectory)/blobs/sha256-\(model.weightsHex)
        TEMPLATE "{{ .Prompt }}"
        """
        let body: [String: Any] = ["modelfile": modelfile, "details": ["family": model.family, "format": "gguf"]]
        return .json(data: try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
    }

    // MARK: State

    private func installPulled(_ name: String, _ scenario: FakeOllamaScenario) {
        let weights = scenario.layers.first.map(\.hex) ?? String(FakeOllamaScenario.digest(97).dropFirst(7))
        install(FakeOllamaModel(name: name, size: scenario.layers.reduce(0) { $0 + $1.size }, weightsHex: weights))
    }

    private func recordDisconnect(_ model: String) {
        lock.lock()
        disconnects[model, default: 0] += 1
        lock.broadcast()
        lock.unlock()
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        return body()
    }
}
