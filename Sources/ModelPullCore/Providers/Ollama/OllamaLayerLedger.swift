import Foundation

/// Byte accounting for one pull. Ollama reports each layer (blob digest) on its own and pulls
/// them one after another, so the job's numbers are sums over digests, and a layer counts as
/// done once Ollama has moved on from it (its last 60 ms report may predate its last bytes).
struct OllamaLayerLedger {
    struct Layer: Equatable {
        let digest: String
        var total: Int64
        /// Highest position reported; Ollama's own value can dip when it restarts a part.
        var completed: Int64
        /// The last position reported, dips included: growth from here is activity.
        var lastReported: Int64
        /// Already on disk when the pull started (reported whole on its first line).
        var reused: Bool
        var finished: Bool
    }

    enum Change: Equatable {
        /// A digest seen for the first time.
        case appeared(reused: Bool)
        /// Bytes moved (the reported position grew).
        case advanced
        /// The same numbers as last time: Ollama repeats its line every 60 ms.
        case unchanged
        /// The position went back (a part restarted) or the size changed; no bytes moved.
        case other
    }

    private(set) var order: [String] = []
    private(set) var layers: [String: Layer] = [:]
    /// Digests not finished yet, in the order seen: Ollama moves on from them one by one, so
    /// this stays short and finishing does not walk every layer ever seen.
    private var unfinished: [String] = []

    /// Records one report for `digest`.
    mutating func observe(digest: String, total: Int64, completed: Int64) -> Change {
        let total = max(0, total)
        let completed = max(0, completed)
        guard var layer = layers[digest] else {
            // A blob already on disk is announced once, complete. A blob that is downloading
            // is first seen 60 ms into its transfer, so it is not complete yet.
            let reused = total > 0 && completed >= total
            order.append(digest)
            layers[digest] = Layer(digest: digest, total: total, completed: completed, lastReported: completed,
                                   reused: reused, finished: reused || total == 0)
            if !(reused || total == 0) { unfinished.append(digest) }
            return .appeared(reused: reused)
        }
        defer { layers[digest] = layer }
        if layer.total == total && layer.lastReported == completed { return .unchanged }
        let grew = completed > layer.lastReported
        layer.total = total
        layer.lastReported = completed
        layer.completed = max(layer.completed, completed)
        return grew ? .advanced : .other
    }

    /// Marks every unfinished layer but `digest` as finished and returns them: Ollama moved on
    /// (to another layer, to verifying, to success), so their bytes are all there.
    mutating func finishAll(except digest: String? = nil) -> [Layer] {
        var finished: [Layer] = []
        var kept: [String] = []
        for key in unfinished {
            if key == digest { kept.append(key); continue }
            guard var layer = layers[key], !layer.finished else { continue }
            layer.finished = true
            layer.completed = max(layer.completed, layer.total)
            layers[key] = layer
            finished.append(layer)
        }
        unfinished = kept
        return finished
    }

    var totalBytes: Int64 { layers.values.reduce(0) { $0 + $1.total } }

    var bytesReused: Int64 {
        layers.values.filter(\.reused).reduce(0) { $0 + $1.total }
    }

    /// Bytes Ollama fetched for this pull: the layers that were not already there.
    var bytesDownloaded: Int64 {
        layers.values.filter { !$0.reused }.reduce(0) { $0 + min($1.completed, $1.total) }
    }

    var count: Int { order.count }

    /// The real blobs, as files of the result (`blobs/sha256-<hex>` under Ollama's models
    /// folder). Synthetic digests such as the `sha256:model` of a safetensors pull are left out.
    var files: [DownloadResult.File] {
        order.compactMap { key in
            guard let layer = layers[key], let hex = Self.sha256Hex(layer.digest) else { return nil }
            return DownloadResult.File(path: "blobs/sha256-\(hex)", size: layer.total, sha256: hex)
        }
    }

    /// The 64 hex digits of a `sha256:<hex>` digest, nil for anything else.
    static func sha256Hex(_ digest: String) -> String? {
        guard digest.hasPrefix("sha256:") else { return nil }
        let hex = digest.dropFirst(7).lowercased()
        return hex.count == 64 && hex.allSatisfy(\.isHexDigit) ? hex : nil
    }

    /// How a digest is shown: `sha256:` and the first 12 hex digits, as Ollama's status does.
    static func shortName(_ digest: String) -> String {
        guard let hex = sha256Hex(digest) else { return digest }
        return "sha256:" + hex.prefix(12)
    }
}
