import Foundation

/// Where the player's lines go: the HTTP stream (with Ollama's pauses) or, for
/// `"stream": false`, a collector that keeps only the last one.
protocol FakeOllamaLineSink: AnyObject {
    func send(_ line: String) throws
    func pause(_ seconds: TimeInterval) throws
}

/// Streams to the client, one NDJSON line per chunk.
final class StreamingLineSink: FakeOllamaLineSink {
    private let writer: ResponseWriter
    init(_ writer: ResponseWriter) { self.writer = writer }
    func send(_ line: String) throws { try writer.writeLine(line) }
    func pause(_ seconds: TimeInterval) throws { if seconds > 0 { try writer.sleep(seconds) } }
}

/// Non-streaming mode: Ollama answers with the last progress object only.
final class LastLineSink: FakeOllamaLineSink {
    private(set) var last: String?
    func send(_ line: String) throws { last = line }
    func pause(_ seconds: TimeInterval) throws {}
}

/// Plays a scenario the way `PullModel` in Ollama's server/images.go writes its progress.
struct FakeOllamaPlayer {
    /// Thrown to close the connection mid-stream (`.cut`).
    struct Cut: Error {}

    enum Ending: Equatable {
        case succeeded
        case failed
    }

    let scenario: FakeOllamaScenario
    let sink: any FakeOllamaLineSink

    func play() throws -> Ending {
        try sink.send(FakeOllamaScenario.line(status: "pulling manifest"))
        if try fail(at: .afterManifest, current: nil) { return .failed }
        if scenario.aggregate {
            if try playAggregate() { return .failed }
        } else {
            for index in scenario.layers.indices {
                if try playLayer(index) { return .failed }
            }
        }
        try sink.send(FakeOllamaScenario.line(status: "verifying sha256 digest"))
        try sink.pause(scenario.verifySeconds)
        if try fail(at: .afterVerify, current: nil) { return .failed }
        try sink.send(FakeOllamaScenario.line(status: "writing manifest"))
        if scenario.removesUnusedLayers { try sink.send(FakeOllamaScenario.line(status: "removing unused layers")) }
        try sink.send(FakeOllamaScenario.line(status: "success"))
        return .succeeded
    }

    /// Returns true when the scenario's failure ended the stream here.
    private func playLayer(_ index: Int) throws -> Bool {
        let layer = scenario.layers[index]
        let status = "pulling \(layer.hex.prefix(12))"
        if layer.present {
            try sink.send(FakeOllamaScenario.line(status: status, digest: layer.digest, total: layer.size, completed: layer.size))
            return false
        }
        if layer.silent {
            try sink.pause(scenario.tick / 2)
            return false
        }
        for (position, fraction) in layer.reports.enumerated() {
            let line = FakeOllamaScenario.line(status: status, digest: layer.digest, total: layer.size,
                                               completed: Int64(Double(layer.size) * fraction))
            if position == layer.reports.count / 2, try fail(at: .midLayer(index), current: line) { return true }
            for _ in 0..<max(1, layer.repeats) {
                try sink.pause(scenario.tick)
                try sink.send(line)
            }
        }
        // The blob finishes between two ticks: no line says so.
        try sink.pause(scenario.tick / 2)
        return false
    }

    /// Safetensors: one synthetic `sha256:model` progress over all the bytes.
    private func playAggregate() throws -> Bool {
        let total = scenario.layers.reduce(0) { $0 + $1.size }
        let steps = [0.0, 0.25, 0.5, 0.75, 1.0]
        for (position, fraction) in steps.enumerated() {
            let line = FakeOllamaScenario.line(status: "pulling model", digest: "sha256:model", total: total,
                                               completed: Int64(Double(total) * fraction))
            if position == steps.count / 2, try fail(at: .midLayer(0), current: line) { return true }
            try sink.pause(scenario.tick)
            try sink.send(line)
        }
        return false
    }

    /// Applies the scenario's failure if it happens at `point`. A stall repeats `current`
    /// (or says nothing, outside a layer) until the client leaves or the server stops.
    private func fail(at point: FakeOllamaScenario.Point, current: String?) throws -> Bool {
        switch scenario.failure {
        case .errorLine(let text, let at) where at == point:
            try sink.send(FakeOllamaScenario.errorLine(text))
            return true
        case .cut(let at) where at == point:
            throw Cut()
        case .end(let at) where at == point:
            return true
        case .stall(let at) where at == point:
            // A non-streaming answer cannot show a stall; it just never comes.
            if sink is LastLineSink { throw Cut() }
            while true {
                try sink.pause(scenario.tick)
                if let current { try sink.send(current) }
            }
        default:
            return false
        }
    }
}
