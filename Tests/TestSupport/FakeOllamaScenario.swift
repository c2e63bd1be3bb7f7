import Foundation

/// How the fake Ollama answers `POST /api/pull` for one model name. The defaults follow the
/// real server (reference/ollama.md §1): `pulling manifest`, one layer after another with the
/// same line re-sent every 60 ms and zero fields omitted, `verifying sha256 digest` then
/// silence, `writing manifest`, `success`.
public struct FakeOllamaScenario: Sendable {
    public struct Layer: Sendable {
        /// `sha256:<64 hex>`.
        public var digest: String
        public var size: Int64
        /// Already in the store: announced once with `completed == total`.
        public var present: Bool
        /// Finished in under 60 ms, so Ollama sent no line for it at all.
        public var silent: Bool
        /// Positions reported in turn, as fractions of `size`. Like Ollama, the last report may
        /// fall short of the size (its ticker stops when the blob is done, without a last word),
        /// and a value may dip (a part restarted).
        public var reports: [Double]
        /// How many times each position is sent, 60 ms apart (Ollama's ticker repeats itself).
        public var repeats: Int

        public init(digest: String, size: Int64, present: Bool = false, silent: Bool = false,
                    reports: [Double] = [0, 0.2, 0.45, 0.7, 0.9], repeats: Int = 2) {
            self.digest = digest
            self.size = size
            self.present = present
            self.silent = silent
            self.reports = reports
            self.repeats = repeats
        }

        /// A layer that downloads, with a digest derived from `seed`.
        public static func downloading(_ size: Int64, seed: Int, reports: [Double] = [0, 0.2, 0.45, 0.7, 0.9],
                                       repeats: Int = 2) -> Layer {
            Layer(digest: FakeOllamaScenario.digest(seed), size: size, reports: reports, repeats: repeats)
        }

        public static func present(_ size: Int64, seed: Int) -> Layer {
            Layer(digest: FakeOllamaScenario.digest(seed), size: size, present: true)
        }

        public static func silent(_ size: Int64, seed: Int) -> Layer {
            Layer(digest: FakeOllamaScenario.digest(seed), size: size, silent: true)
        }

        public var hex: String { String(digest.dropFirst("sha256:".count)) }
    }

    /// Where a failure happens.
    public enum Point: Sendable, Equatable {
        case afterManifest
        /// Halfway through layer `index`'s reports.
        case midLayer(Int)
        case afterVerify
    }

    public enum Failure: Sendable {
        /// `{"error": text}` as the last line, under HTTP 200.
        case errorLine(String, at: Point)
        /// The connection breaks without `success` (no end of the chunked body).
        case cut(at: Point)
        /// The body ends cleanly, but `success` never came.
        case end(at: Point)
        /// The same progress line forever (Ollama's ticker while the registry sends nothing),
        /// until the client goes away.
        case stall(at: Point)
        /// An HTTP error with Ollama's `{"error": …}` body instead of a stream (400 for a bad
        /// name, 500 for `insecure protocol http`).
        case httpError(status: Int, error: String)
    }

    public var layers: [Layer]
    public var tick: TimeInterval
    /// Silence after `verifying sha256 digest` while "hashing".
    public var verifySeconds: TimeInterval
    public var failure: Failure?
    /// A re-pull that orphaned old layers says `removing unused layers` before `success`.
    public var removesUnusedLayers: Bool
    /// Safetensors models: one `pulling model` line with the synthetic digest `sha256:model`
    /// over the sum of the layers, instead of one line per layer.
    public var aggregate: Bool
    /// Answer as for `"stream": false` even when asked to stream (a buffering proxy).
    public var ignoresStreamFlag: Bool
    /// Refuse with 500 `insecure protocol http` unless the request says `"insecure": true`.
    public var requiresInsecure: Bool

    public init(layers: [Layer], tick: TimeInterval = 0.06, verifySeconds: TimeInterval = 0.1,
                failure: Failure? = nil, removesUnusedLayers: Bool = false, aggregate: Bool = false,
                ignoresStreamFlag: Bool = false, requiresInsecure: Bool = false) {
        self.layers = layers
        self.tick = tick
        self.verifySeconds = verifySeconds
        self.failure = failure
        self.removesUnusedLayers = removesUnusedLayers
        self.aggregate = aggregate
        self.ignoresStreamFlag = ignoresStreamFlag
        self.requiresInsecure = requiresInsecure
    }

    /// A small GGUF-style model: weights, template, params, and a config blob too small to be
    /// reported.
    public static func typical(seed: Int = 1) -> FakeOllamaScenario {
        FakeOllamaScenario(layers: [
            .downloading(3_000_000, seed: seed * 10 + 1),
            .downloading(1_200, seed: seed * 10 + 2, reports: [0.5], repeats: 1),
            .downloading(96, seed: seed * 10 + 3, reports: [0.5], repeats: 1),
            .silent(485, seed: seed * 10 + 4),
        ])
    }

    /// The bytes a client can know about: every layer the stream mentions.
    public var reportedBytes: Int64 {
        aggregate ? layers.reduce(0) { $0 + $1.size } : layers.filter { !$0.silent }.reduce(0) { $0 + $1.size }
    }

    public var presentBytes: Int64 {
        layers.filter(\.present).reduce(0) { $0 + $1.size }
    }

    /// A deterministic `sha256:<64 hex>` digest.
    public static func digest(_ seed: Int) -> String {
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 &+ 0x1234_5678
        var hex = ""
        for _ in 0..<4 {
            state ^= state >> 30
            state = state &* 0xBF58_476D_1CE4_E5B9
            state ^= state >> 27
            hex += String(format: "%016llx", state)
        }
        return "sha256:" + hex
    }

    // MARK: Lines as Ollama writes them

    /// Go's `json.Marshal` of `api.ProgressResponse`: field order status, digest, total,
    /// completed, each omitted when empty or zero.
    static func line(status: String, digest: String? = nil, total: Int64 = 0, completed: Int64 = 0) -> String {
        var fields = [#""status":\#(quoted(status))"#]
        if let digest { fields.append(#""digest":\#(quoted(digest))"#) }
        if total != 0 { fields.append(#""total":\#(total)"#) }
        if completed != 0 { fields.append(#""completed":\#(completed)"#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func errorLine(_ text: String) -> String {
        #"{"error":\#(quoted(text))}"#
    }

    static func quoted(_ text: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}
