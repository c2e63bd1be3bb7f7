import Foundation

/// Handed to a `.stream` body closure to write the body progressively. Each `write` goes
/// straight to the socket (one HTTP chunk per call when chunked), so a client sees every line
/// as soon as it is written, e.g. an Ollama-style NDJSON progress stream:
///
///     .stream(contentType: "application/x-ndjson") { writer in
///         for done in stride(from: 0, through: 100, by: 25) {
///             try writer.writeLine(#"{"completed":\#(done),"total":100}"#)
///             try writer.sleep(0.05)
///         }
///     }
///
/// Injected body faults (drop, stall, corruption, rate limit) apply to these writes too.
/// Errors thrown by `write` mean the connection is gone; let them propagate out of the closure.
/// Use it only on the thread that called the closure.
public final class ResponseWriter {
    private let channel: BodyChannel

    init(channel: BodyChannel) {
        self.channel = channel
    }

    /// Body bytes written so far.
    public var bytesWritten: Int { channel.bytesSent }

    public func write(_ data: Data) throws {
        guard !data.isEmpty else { return }
        try channel.write(data)
    }

    public func write(_ text: String) throws {
        try write(Data(text.utf8))
    }

    /// Writes `text` followed by "\n" in one piece (one NDJSON record per chunk).
    public func writeLine(_ text: String) throws {
        try write(Data((text + "\n").utf8))
    }

    /// Encodes `value` as one JSON line (sorted keys) and writes it.
    public func writeJSONLine<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(value)
        line.append(10)
        try write(line)
    }

    /// Sleeps between writes. Unlike `Thread.sleep`, it ends early (by throwing) when the server
    /// stops, so a test's `stop()` never waits for a slow stream to finish.
    public func sleep(_ seconds: TimeInterval) throws {
        try channel.sleep(seconds)
    }
}
