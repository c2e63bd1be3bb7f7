import Foundation

/// A blob's name in a registry: `sha256:<64 lowercase hex>`, the only form Ollama accepts.
struct OllamaDigest: Hashable, Sendable {
    let hex: String

    init?(_ text: String) {
        let prefix = "sha256:"
        guard text.hasPrefix(prefix) else { return nil }
        let hex = String(text.dropFirst(prefix.count)).lowercased()
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        self.hex = hex
    }

    var text: String { "sha256:" + hex }
}

/// An image manifest as the registry serves it (`manifest/manifest.go`): the config blob and the
/// layers, each a digest and a size. The bytes are kept as received: Ollama stores them so, and
/// the model's id is their SHA-256.
struct OllamaManifest: Sendable {
    struct Blob: Sendable, Equatable {
        var digest: OllamaDigest
        var size: Int64
        var mediaType: String
    }

    let bytes: Data
    /// The config first, then the layers in order; a digest listed twice appears once.
    let blobs: [Blob]

    static let mediaType = "application/vnd.docker.distribution.manifest.v2+json"

    /// Parses and checks what a server sent: digests well formed, sizes not negative, at most
    /// 1,000 blobs. Throws `upstream` with what was wrong.
    init(_ bytes: Data, name: String) throws(DownloadFailure) {
        struct Wire: Decodable {
            struct Layer: Decodable {
                var digest: String
                var size: Int64
                var mediaType: String?
            }
            var schemaVersion: Int?
            var config: Layer?
            var layers: [Layer]
        }
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: bytes)
        } catch {
            throw DownloadFailure(.upstream, "The registry's manifest for \(name) is not an image manifest; is the host an Ollama registry?",
                                  retryable: false)
        }
        var seen = Set<OllamaDigest>()
        var blobs: [Blob] = []
        for layer in (wire.config.map { [$0] } ?? []) + wire.layers {
            guard let digest = OllamaDigest(layer.digest), layer.size >= 0 else {
                throw DownloadFailure(.upstream, "The registry's manifest for \(name) lists a blob without a valid sha256 digest and size.",
                                      retryable: false)
            }
            if seen.insert(digest).inserted {
                blobs.append(Blob(digest: digest, size: layer.size, mediaType: layer.mediaType ?? ""))
            }
        }
        guard !wire.layers.isEmpty, blobs.count <= 1_000 else {
            throw DownloadFailure(.upstream, "The registry's manifest for \(name) lists \(wire.layers.count) layers; an Ollama model has between 1 and a few dozen.",
                                  retryable: false)
        }
        self.bytes = bytes
        self.blobs = blobs
    }
}
