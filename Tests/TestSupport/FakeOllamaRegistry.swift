import Foundation

/// A loopback Ollama registry as Ollama's client meets it: `/v2/{namespace}/{model}/manifests/
/// {tag}` answers the Docker v2 manifest (only to the Accept header Ollama sends), blobs answer
/// 307 to a second loopback server, the "CDN", which serves them with ranges; unknown names get
/// the registry's 404 body, private ones 401 with a Bearer challenge.
public final class FakeOllamaRegistry: @unchecked Sendable {
    public let registry: LoopbackHTTPServer
    public let cdn: LoopbackHTTPServer
    private let cdnRouter = Router()
    private let lock = NSLock()
    private var manifests: [String: Data] = [:]
    private var blobs: [String: Data] = [:]
    private var privateModels: Set<String> = []
    /// Answer an unknown tag of a known model as hf.co does: 400 with a sentence, not 404.
    public var unknownTagAsHuggingFace = false

    public static let manifestType = "application/vnd.docker.distribution.manifest.v2+json"

    public init() throws {
        cdn = try LoopbackHTTPServer(router: cdnRouter)
        let box = Box()
        registry = try LoopbackHTTPServer { request in box.registry?.answer(request) ?? .notFound() }
        box.registry = self
    }

    private final class Box: @unchecked Sendable { weak var registry: FakeOllamaRegistry? }

    /// `host:port` of the registry, as a model name carries it.
    public var host: String { "127.0.0.1:\(registry.port)" }

    public func stop() {
        registry.stop()
        cdn.stop()
    }

    /// Publishes a model; returns the manifest bytes. `corrupt` serves wrong bytes for that layer.
    @discardableResult
    public func addModel(namespace: String = "library", _ model: String, tag: String = "latest", layers: [Data],
                         config: Data = Data(#"{"model_format":"gguf","model_family":"llama"}"#.utf8),
                         corruptLayer: Int? = nil) -> Data {
        func entry(_ data: Data, _ type: String) -> [String: Any] {
            ["mediaType": type, "digest": "sha256:" + Self.sha256(data), "size": data.count]
        }
        let types = ["application/vnd.ollama.image.model", "application/vnd.ollama.image.template",
                     "application/vnd.ollama.image.params", "application/vnd.ollama.image.license"]
        let manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": Self.manifestType,
            "config": entry(config, "application/vnd.docker.container.image.v1+json"),
            "layers": layers.enumerated().map { entry($1, types[min($0, types.count - 1)]) },
        ]
        let bytes = try! JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
        lock.lock()
        manifests["\(namespace)/\(model)/\(tag)"] = bytes
        for (index, data) in ([config] + layers).enumerated() {
            let hex = Self.sha256(data)
            var served = data
            if let corruptLayer, index == corruptLayer + 1, !served.isEmpty { served[0] ^= 0xFF }
            blobs[hex] = served
            cdnRouter.file("/blobs/sha256-\(hex)", StaticFile(data: served))
        }
        lock.unlock()
        return bytes
    }

    public func makePrivate(namespace: String = "library", _ model: String) {
        lock.lock(); defer { lock.unlock() }
        privateModels.insert("\(namespace)/\(model)")
    }

    func answer(_ request: HTTPRequest) -> HTTPResponse {
        let parts = request.path.split(separator: "?")[0].split(separator: "/").map(String.init)
        guard parts.count == 5, parts[0] == "v2" else { return .notFound() }
        let repo = "\(parts[1])/\(parts[2])"
        lock.lock()
        let isPrivate = privateModels.contains(repo)
        let manifest = manifests["\(repo)/\(parts[4])"]
        let known = manifests.keys.contains { $0.hasPrefix(repo + "/") }
        lock.unlock()
        if isPrivate {
            return HTTPResponse(status: 401, headers: ["WWW-Authenticate": #"Bearer realm="https://ollama.com:443/token",service="ollama.com",scope="repository:\#(repo):pull""#,
                                                       "Content-Type": "application/json"],
                                body: .bytes(Data(#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.utf8)))
        }
        switch parts[3] {
        case "manifests":
            if manifest == nil, known, unknownTagAsHuggingFace {
                return HTTPResponse(status: 400, headers: ["Content-Type": "application/json"],
                                    body: .bytes(Data(#"{"error":"The specified tag is not available in the repository. Please use another tag or \"latest\""}"#.utf8)))
            }
            guard let manifest, request.header("Accept") == Self.manifestType else {
                let code = known ? "MANIFEST_UNKNOWN" : "NAME_UNKNOWN"
                return HTTPResponse(status: 404, headers: ["Content-Type": "application/json"],
                                    body: .bytes(Data(#"{"errors":[{"code":"\#(code)","message":"manifest unknown"}]}"#.utf8)))
            }
            return HTTPResponse(status: 200, headers: ["Content-Type": Self.manifestType], body: .bytes(manifest))
        case "blobs":
            let hex = parts[4].replacingOccurrences(of: "sha256:", with: "")
            return HTTPResponse(status: 307, headers: ["Location": cdn.url("/blobs/sha256-\(hex)").absoluteString])
        default:
            return .notFound()
        }
    }

    public static func sha256(_ data: Data) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try! process.run()
        input.fileHandleForWriting.write(data)
        try! input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }
}
