/// How messages are delimited on the wire.
public enum Framing: String, Sendable, Hashable, CaseIterable {
    /// One JSON message per line, `\n` terminated (`\r\n` tolerated on input).
    case ndjson
    /// `Content-Length: N\r\n\r\n` followed by exactly N body bytes, as in LSP.
    case lsp
}

/// The `--framing` option: a fixed framing, or `auto` to detect it from the first input byte.
public enum FramingChoice: String, Sendable, Hashable, CaseIterable {
    case auto
    case ndjson
    case lsp

    /// The framing this choice fixes up front, or nil for `auto`.
    public var fixedFraming: Framing? {
        switch self {
        case .auto: return nil
        case .ndjson: return .ndjson
        case .lsp: return .lsp
        }
    }
}
