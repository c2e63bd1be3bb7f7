import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A fake Ollama server whose store is a real folder, written and read the way Ollama's source
/// does it (`server/images.go`, `server/download.go`, `manifest/`, `server/routes.go`), so a
/// test can hold a registry pull's store against a server pull's and see what a running server
/// lists after another process wrote into its store.
///
/// - `POST /api/pull`: the manifest from the name's registry (`http://` only with `insecure`),
///   each blob not already present fetched to `blobs/sha256-<hex>-partial`, verified, renamed;
///   the manifest written last (0644); the old layers of a replaced tag pruned unless
///   `OLLAMA_NOPRUNE`. Streams Ollama's NDJSON status lines.
/// - `GET /api/tags`: re-reads `manifests/*/*/*/*` on every call (Ollama's `syncManifests`),
///   skipping a manifest whose config blob is missing.
/// - `POST /api/show`, `DELETE /api/delete`, `GET /api/version`, `GET /`.
public final class FakeOllamaOnStore: @unchecked Sendable {
    public let http: LoopbackHTTPServer
    public let store: String
    private let noPrune: Bool

    public init(store: String, noPrune: Bool = false) throws {
        self.store = store
        self.noPrune = noPrune
        let router = Router()
        http = try LoopbackHTTPServer(router: router)
        router.get("/") { _ in .text("Ollama is running") }
        router.get("/api/version") { _ in .json(#"{"version":"0.33.0"}"#) }
        router.post("/api/pull") { [weak self] request in self?.pull(request) ?? .status(503) }
        router.get("/api/tags") { [weak self] _ in self?.tags() ?? .status(503) }
        router.post("/api/show") { [weak self] request in self?.show(request) ?? .status(503) }
        router.delete("/api/delete") { [weak self] request in self?.delete(request) ?? .status(503) }
    }

    public func stop() { http.stop() }

    /// `127.0.0.1:<port>`, as `OLLAMA_HOST` takes it.
    public var host: String { http.authority }

    /// `GET /api/tags` asked over HTTP, as `ollama list` asks it.
    public func askTags() -> [[String: Any]]? {
        guard let (status, body) = Self.get(http.url("/api/tags").absoluteString), status == 200,
              let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return nil }
        return object["models"] as? [[String: Any]]
    }

    // MARK: Names and paths

    struct Name {
        var host = "registry.ollama.ai", namespace = "library", model = "", tag = "latest"

        /// `[host/][namespace/]model[:tag]` with Ollama's defaults (`types/model/name.go`).
        init?(_ text: String) {
            var rest = Substring(text)
            if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
                tag = String(rest[rest.index(after: colon)...])
                rest = rest[..<colon]
            }
            let parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            switch parts.count {
            case 1: model = parts[0]
            case 2: (namespace, model) = (parts[0], parts[1])
            case 3: (host, namespace, model) = (parts[0], parts[1], parts[2])
            default: return nil
            }
            if model.isEmpty || tag.isEmpty || namespace.isEmpty || host.isEmpty { return nil }
        }

        init(host: String, namespace: String, model: String, tag: String) {
            (self.host, self.namespace, self.model, self.tag) = (host, namespace, model, tag)
        }

        var display: String {
            host == "registry.ollama.ai" && namespace == "library" ? "\(model):\(tag)" : "\(host)/\(namespace)/\(model):\(tag)"
        }
    }

    private func manifestPath(_ name: Name) -> String {
        [store, "manifests", name.host, name.namespace, name.model, name.tag].joined(separator: "/")
    }

    private func blobPath(_ digest: String) -> String { store + "/blobs/" + digest.replacingOccurrences(of: ":", with: "-") }

    private struct Layer { var digest: String; var size: Int; var mediaType: String }

    private static func layers(of manifest: Data) -> (config: Layer?, layers: [Layer])? {
        guard let object = try? JSONSerialization.jsonObject(with: manifest) as? [String: Any],
              let layers = object["layers"] as? [[String: Any]] else { return nil }
        func layer(_ entry: [String: Any]) -> Layer? {
            guard let digest = entry["digest"] as? String, let size = entry["size"] as? Int else { return nil }
            return Layer(digest: digest, size: size, mediaType: entry["mediaType"] as? String ?? "")
        }
        return ((object["config"] as? [String: Any]).flatMap(layer), layers.compactMap(layer))
    }

    // MARK: Pull

    private func pull(_ request: HTTPRequest) -> HTTPResponse {
        guard let body = request.bodyJSON as? [String: Any],
              let text = (body["model"] as? String) ?? (body["name"] as? String), let name = Name(text) else {
            return .json(#"{"error":"invalid model name"}"#, status: 400)
        }
        let insecure = body["insecure"] as? Bool ?? false
        return .stream(contentType: "application/x-ndjson") { [self] writer in
            func line(_ object: [String: Any]) throws {
                try writer.writeLine(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            }
            try line(["status": "pulling manifest"])
            let base = "\(insecure ? "http" : "https")://\(name.host)/v2/\(name.namespace)/\(name.model)"
            guard let (status, manifest) = Self.get(base + "/manifests/" + name.tag,
                                                    accept: "application/vnd.docker.distribution.manifest.v2+json"),
                  status == 200, let parsed = Self.layers(of: manifest) else {
                try line(["error": "pull model manifest: file does not exist"])
                return
            }
            let blobs = (parsed.config.map { [$0] } ?? []) + parsed.layers
            try FileManager.default.createDirectory(atPath: store + "/blobs", withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
            var fetched: [Layer] = []
            for blob in blobs {
                let final = blobPath(blob.digest)
                if FileManager.default.fileExists(atPath: final) { continue }  // Ollama trusts any blob present.
                guard let (status, bytes) = Self.get(base + "/blobs/" + blob.digest), status == 200 else {
                    try line(["error": "download failed for \(blob.digest)"])
                    return
                }
                try line(["status": "pulling \(blob.digest.dropFirst(7).prefix(12))", "digest": blob.digest,
                          "total": blob.size, "completed": bytes.count])
                let partial = final + "-partial"
                _ = FileManager.default.createFile(atPath: partial, contents: bytes, attributes: [.posixPermissions: 0o644])
                try FileManager.default.moveItem(atPath: partial, toPath: final)
                fetched.append(blob)
            }
            try line(["status": "verifying sha256 digest"])
            for blob in fetched where "sha256:" + FakeOllamaRegistry.sha256(FileManager.default.contents(atPath: blobPath(blob.digest)) ?? Data()) != blob.digest {
                try? FileManager.default.removeItem(atPath: blobPath(blob.digest))
                try line(["error": "digest mismatch, file must be downloaded again: want \(blob.digest)"])
                return
            }
            try line(["status": "writing manifest"])
            let path = manifestPath(name)
            let previous = FileManager.default.contents(atPath: path)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            _ = FileManager.default.createFile(atPath: path, contents: manifest, attributes: [.posixPermissions: 0o644])
            if let previous, previous != manifest, !noPrune, let old = Self.layers(of: previous) {
                removeUnreferenced((old.config.map { [$0] } ?? []) + old.layers)
            }
            try line(["status": "success"])
        }
    }

    /// A GET that follows the registry's redirect to its CDN; nil when nothing answered.
    private static func get(_ url: String, accept: String? = nil) -> (Int, Data)? {
        guard let url = URL(string: url) else { return nil }
        var request = URLRequest(url: url, timeoutInterval: 30)
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        URLSession.shared.dataTask(with: request) { data, response, _ in
            if let response = response as? HTTPURLResponse { box.value = (response.statusCode, data ?? Data()) }
            done.signal()
        }.resume()
        done.wait()
        return box.value
    }

    private final class ResultBox: @unchecked Sendable { var value: (Int, Data)? }

    // MARK: List, show, delete

    private struct Entry { var name: Name; var path: String; var bytes: Data; var config: Layer?; var layers: [Layer]
        var display: String { name.display }
    }

    /// `manifests/*/*/*/*`, re-read now, as Ollama re-reads it on every `/api/tags`.
    private func manifests() -> [Entry] {
        func children(_ path: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        }
        let root = store + "/manifests"
        var entries: [Entry] = []
        for host in children(root) {
            for namespace in children("\(root)/\(host)") {
                for model in children("\(root)/\(host)/\(namespace)") {
                    for tag in children("\(root)/\(host)/\(namespace)/\(model)") {
                        let name = Name(host: host, namespace: namespace, model: model, tag: tag)
                        let path = manifestPath(name)
                        guard let bytes = FileManager.default.contents(atPath: path), let parsed = Self.layers(of: bytes) else { continue }
                        entries.append(Entry(name: name, path: path, bytes: bytes, config: parsed.config, layers: parsed.layers))
                    }
                }
            }
        }
        return entries
    }

    private func tags() -> HTTPResponse {
        var models: [[String: Any]] = []
        for entry in manifests() {
            // Building an entry reads the config blob; without it Ollama skips the model.
            guard let config = entry.config, let configBytes = FileManager.default.contents(atPath: blobPath(config.digest)),
                  let details = try? JSONSerialization.jsonObject(with: configBytes) as? [String: Any] else { continue }
            let modified = (try? FileManager.default.attributesOfItem(atPath: entry.path)[.modificationDate] as? Date) ?? Date()
            models.append([
                "name": entry.display, "model": entry.display,
                "modified_at": ISO8601DateFormatter().string(from: modified),
                "size": ([config] + entry.layers).reduce(0) { $0 + $1.size },
                "digest": FakeOllamaRegistry.sha256(entry.bytes),
                "details": ["format": details["model_format"] as? String ?? "", "family": details["model_family"] as? String ?? "",
                            "parameter_size": "", "quantization_level": ""] as [String: Any],
            ])
        }
        return .json(data: try! JSONSerialization.data(withJSONObject: ["models": models], options: [.sortedKeys]))
    }

    private func find(_ request: HTTPRequest) -> Entry? {
        guard let text = (request.bodyJSON as? [String: Any])?["model"] as? String, let name = Name(text) else { return nil }
        return manifests().first { $0.path == manifestPath(name) }
    }

    private func show(_ request: HTTPRequest) -> HTTPResponse {
        guard let entry = find(request) else { return .json(#"{"error":"model not found"}"#, status: 404) }
        let weights = entry.layers.first { $0.mediaType.hasSuffix(".model") } ?? entry.layers[0]
        let modelfile = "# Modelfile generated by \"ollama show\"\n\nFROM \(blobPath(weights.digest))\n"
        return .json(data: try! JSONSerialization.data(withJSONObject: ["modelfile": modelfile, "details": ["format": "gguf"]]))
    }

    private func delete(_ request: HTTPRequest) -> HTTPResponse {
        guard let entry = find(request) else { return .json(#"{"error":"model not found"}"#, status: 404) }
        try? FileManager.default.removeItem(atPath: entry.path)
        removeUnreferenced((entry.config.map { [$0] } ?? []) + entry.layers)
        return HTTPResponse(status: 200)
    }

    /// `deleteUnusedLayers`: each of `layers` that no remaining manifest names is removed.
    private func removeUnreferenced(_ layers: [Layer]) {
        let named = Set(manifests().flatMap { ($0.config.map { [$0] } ?? []) + $0.layers }.map(\.digest))
        for layer in layers where !named.contains(layer.digest) {
            try? FileManager.default.removeItem(atPath: blobPath(layer.digest))
        }
    }
}
