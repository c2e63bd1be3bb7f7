/// Frames one outgoing message body.
public enum FrameEncoder {
    /// NDJSON: `body + "\n"`; the body must not contain a raw newline, which `JSONWriter`
    /// guarantees. LSP: `Content-Length: N\r\n\r\n` + body.
    public static func encode(_ body: [UInt8], as framing: Framing) -> [UInt8] {
        switch framing {
        case .ndjson:
            var frame = body
            frame.append(UInt8(ascii: "\n"))
            return frame
        case .lsp:
            var frame = Array("Content-Length: \(body.count)\r\n\r\n".utf8)
            frame.reserveCapacity(frame.count + body.count)
            frame.append(contentsOf: body)
            return frame
        }
    }
}
