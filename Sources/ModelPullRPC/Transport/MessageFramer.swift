/// What the framer found in the input stream.
public enum FramerEvent: Sendable, Hashable {
    /// One complete message body (NDJSON line without its `\r\n`, or an LSP body).
    case message([UInt8])
    /// A message larger than the limit was skipped without being buffered; the payload is its
    /// size in bytes (for NDJSON the line length without `\r\n`). Input continues after it.
    case oversized(Int)
    /// An LSP header block without a usable `Content-Length`; the text says what was wrong.
    /// Input continues with the next header block.
    case malformedHeader(String)
}

/// Incremental decoder from stdin bytes to message bodies.
///
/// Feed chunks with `append` as they arrive, then call `nextEvent()` until it returns nil; at
/// end of input call `finish()` and drain again. Chunk boundaries may fall anywhere (inside
/// `\r\n\r\n`, a header's number, a UTF-8 sequence). Memory stays below
/// `maxMessageBytes` + one chunk (+ a few KiB of header) provided events are drained after each
/// `append`: an endless line or a huge `Content-Length` body is skipped as it streams by.
///
/// Session start: a UTF-8 byte order mark is dropped. With `.auto`, whitespace is skipped and
/// what follows decides: a `Content-` header name (any case) means LSP, anything else (`{`,
/// `[`, garbage) means NDJSON. `mode` is set from then on (at once
/// for a fixed choice).
///
/// NDJSON: lines end with `\n`, a trailing `\r` is dropped, whitespace-only lines are skipped,
/// and an unterminated last line is delivered at `finish()`.
/// LSP: header names are case-insensitive, headers other than Content-Length are ignored, header
/// lines may end in `\r\n` or `\n`, blank lines between frames are skipped. A frame cut short by
/// end of input is dropped.
public struct MessageFramer: Sendable {
    public static let defaultMaxMessageBytes = 16 * 1024 * 1024
    /// A header line longer than this is malformed; its excess is skipped, not buffered.
    public static let maxHeaderLineBytes = 8 * 1024

    public let maxMessageBytes: Int
    /// The framing in use: set at init for a fixed choice, after detection for `.auto`.
    public private(set) var mode: Framing?

    private var state: State
    private var buffer: [UInt8] = []
    /// Bytes before `readIndex` are consumed.
    private var readIndex = 0
    /// No `\n` occurs in `readIndex..<scanIndex`: a line is never rescanned as chunks arrive.
    private var scanIndex = 0
    private var byteOrderMarkHandled = false
    private var inputEnded = false

    private struct HeaderBlock {
        var contentLength: Int?
        var sawHeaderLine = false
        var problem: String?
    }

    private enum State {
        case detecting
        case ndjsonLine
        /// Skipping an over-long line; `endsWithCR` tracks the last skipped byte so the
        /// reported size excludes a `\r` the same way a complete line's does.
        case ndjsonSkippingLine(skipped: Int, endsWithCR: Bool)
        case lspHeaders(HeaderBlock)
        case lspSkippingHeaderLine(HeaderBlock)
        case lspBody(length: Int)
        case lspSkippingBody(remaining: Int, total: Int)
    }

    public init(choice: FramingChoice = .auto, maxMessageBytes: Int = MessageFramer.defaultMaxMessageBytes) {
        self.maxMessageBytes = max(0, maxMessageBytes)
        self.mode = choice.fixedFraming
        switch choice.fixedFraming {
        case nil: state = .detecting
        case .ndjson?: state = .ndjsonLine
        case .lsp?: state = .lspHeaders(HeaderBlock())
        }
    }

    /// Adds bytes read from the peer. Events are produced lazily by `nextEvent()`.
    public mutating func append<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        compactBuffer()
        buffer.append(contentsOf: bytes)
    }

    /// Bytes held in memory, consumed or not (for tests of the memory bound).
    var storedByteCount: Int { buffer.count }

    /// Marks the end of input; further `nextEvent()` calls deliver what can still be delivered.
    public mutating func finish() {
        inputEnded = true
    }

    /// The next complete event, or nil when more input is needed (or input ended).
    public mutating func nextEvent() -> FramerEvent? {
        if !byteOrderMarkHandled && !skipByteOrderMark() { return nil }
        while true {
            switch state {
            case .detecting:
                guard detectFraming() else { return nil }
            case .ndjsonLine:
                guard let event = nextLineEvent() else { return nil }
                if let event { return event }
            case .ndjsonSkippingLine(let skipped, let endsWithCR):
                // nil here means the line is still streaming by: wait for more input.
                return continueSkippingLine(skipped: skipped, endsWithCR: endsWithCR)
            case .lspHeaders(let block):
                guard let event = nextHeaderEvent(block) else { return nil }
                if let event { return event }
            case .lspSkippingHeaderLine(let block):
                guard let newline = findNewline() else {
                    dropBufferedBytes()
                    return nil
                }
                consume(upTo: newline + 1)
                state = .lspHeaders(block)
            case .lspBody(let length):
                guard buffer.count - readIndex >= length else {
                    if inputEnded { dropBufferedBytes() }
                    return nil
                }
                let body = Array(buffer[readIndex..<(readIndex + length)])
                consume(upTo: readIndex + length)
                state = .lspHeaders(HeaderBlock())
                return .message(body)
            case .lspSkippingBody(let remaining, let total):
                let skipped = min(remaining, buffer.count - readIndex)
                consume(upTo: readIndex + skipped)
                if skipped == remaining || inputEnded {
                    state = .lspHeaders(HeaderBlock())
                    return .oversized(total)
                }
                state = .lspSkippingBody(remaining: remaining - skipped, total: total)
                return nil
            }
        }
    }

    // MARK: Session start

    /// Drops a leading EF BB BF. Returns false while the first bytes could still be one.
    private mutating func skipByteOrderMark() -> Bool {
        let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
        let available = buffer[readIndex...].prefix(3)
        if !available.elementsEqual(byteOrderMark.prefix(available.count)) {
            byteOrderMarkHandled = true
        } else if available.count == 3 {
            consume(upTo: readIndex + 3)
            byteOrderMarkHandled = true
        } else if inputEnded {
            byteOrderMarkHandled = true
        } else {
            return false
        }
        return true
    }

    /// Skips leading whitespace and picks the framing from what follows: LSP when the input
    /// opens with a `Content-` header name (any case), NDJSON for anything else. Matching the
    /// header name, not just a letter, keeps a garbage first line (`hello?`) in NDJSON mode
    /// where it gets a parse error instead of silencing the session as a bad LSP header.
    private mutating func detectFraming() -> Bool {
        while readIndex < buffer.count && Self.isWhitespace(buffer[readIndex]) { readIndex += 1 }
        scanIndex = max(scanIndex, readIndex)
        guard readIndex < buffer.count else { return false }
        let prefix = Array("content-".utf8)
        let available = buffer[readIndex...].prefix(prefix.count).map { $0 | 0x20 }
        let matchesSoFar = available.elementsEqual(prefix.prefix(available.count))
        if matchesSoFar && available.count < prefix.count && !inputEnded { return false }
        let isHeader = matchesSoFar && available.count == prefix.count
        mode = isHeader ? .lsp : .ndjson
        state = isHeader ? .lspHeaders(HeaderBlock()) : .ndjsonLine
        return true
    }

    // MARK: NDJSON

    /// `nil`: need more input. `.some(nil)`: progress made (blank line or started skipping),
    /// look again. `.some(event)`: deliver it.
    private mutating func nextLineEvent() -> FramerEvent?? {
        let lineEnd: Int
        let nextStart: Int
        if let newline = findNewline() {
            lineEnd = newline
            nextStart = newline + 1
        } else {
            let pending = buffer.count - readIndex
            if !inputEnded {
                // One byte of slack: the last byte might be a `\r` that does not count.
                if pending > maxMessageBytes + 1 {
                    state = .ndjsonSkippingLine(skipped: pending, endsWithCR: buffer.last == UInt8(ascii: "\r"))
                    dropBufferedBytes()
                    return .some(nil)
                }
                return nil
            }
            guard pending > 0 else { return nil }
            lineEnd = buffer.count
            nextStart = buffer.count
        }
        var line = buffer[readIndex..<lineEnd]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        defer { consume(upTo: nextStart) }
        if line.count > maxMessageBytes { return .some(.oversized(line.count)) }
        if line.allSatisfy(Self.isWhitespace) { return .some(nil) }
        return .some(.message(Array(line)))
    }

    private mutating func continueSkippingLine(skipped: Int, endsWithCR: Bool) -> FramerEvent? {
        if let newline = findNewline() {
            let crAtEnd = newline > readIndex ? buffer[newline - 1] == UInt8(ascii: "\r") : endsWithCR
            let total = skipped + (newline - readIndex) - (crAtEnd ? 1 : 0)
            consume(upTo: newline + 1)
            state = .ndjsonLine
            return .oversized(total)
        }
        let pending = buffer.count - readIndex
        let crAtEnd = pending > 0 ? buffer.last == UInt8(ascii: "\r") : endsWithCR
        dropBufferedBytes()
        if inputEnded {
            state = .ndjsonLine
            return .oversized(skipped + pending - (crAtEnd ? 1 : 0))
        }
        state = .ndjsonSkippingLine(skipped: skipped + pending, endsWithCR: crAtEnd)
        return nil
    }

    // MARK: LSP headers

    /// Same contract as `nextLineEvent`.
    private mutating func nextHeaderEvent(_ incoming: HeaderBlock) -> FramerEvent?? {
        var block = incoming
        guard let newline = findNewline() else {
            if buffer.count - readIndex > Self.maxHeaderLineBytes {
                block.problem = block.problem ?? "header line longer than \(Self.maxHeaderLineBytes) bytes"
                block.sawHeaderLine = true
                state = .lspSkippingHeaderLine(block)
                dropBufferedBytes()
                return .some(nil)
            }
            if inputEnded { dropBufferedBytes() }
            return nil
        }
        var line = buffer[readIndex..<newline]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        consume(upTo: newline + 1)

        guard line.contains(where: { !Self.isWhitespace($0) }) else {
            // A blank line ends the header block, or is stray noise between frames.
            guard block.sawHeaderLine else { return .some(nil) }
            state = .lspHeaders(HeaderBlock())
            if let problem = block.problem { return .some(.malformedHeader(problem)) }
            guard let length = block.contentLength else { return .some(.malformedHeader("missing Content-Length header")) }
            state = length > maxMessageBytes ? .lspSkippingBody(remaining: length, total: length) : .lspBody(length: length)
            return .some(nil)
        }
        block.sawHeaderLine = true
        if block.problem == nil { block.problem = Self.applyHeaderLine(line, to: &block) }
        state = .lspHeaders(block)
        return .some(nil)
    }

    /// Records a Content-Length header; returns a description of what is wrong, if anything.
    private static func applyHeaderLine(_ line: ArraySlice<UInt8>, to block: inout HeaderBlock) -> String? {
        if line.count > maxHeaderLineBytes { return "header line longer than \(maxHeaderLineBytes) bytes" }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            return "header line without ':' (\(sanitized(line)))"
        }
        let name = trimmed(line[..<colon])
        guard name.count == 14, String(decoding: name, as: UTF8.self).lowercased() == "content-length" else {
            return nil
        }
        let value = trimmed(line[(colon + 1)...])
        guard let length = decimal(value) else { return "invalid Content-Length value '\(sanitized(value))'" }
        if let earlier = block.contentLength, earlier != length { return "conflicting Content-Length headers" }
        block.contentLength = length
        return nil
    }

    /// A non-negative decimal with at most 18 digits (so it cannot overflow), else nil.
    private static func decimal(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard let first = bytes.firstIndex(where: { !isWhitespace($0) }),
              let last = bytes.lastIndex(where: { !isWhitespace($0) }) else { return [] }
        return bytes[first...last]
    }

    /// Peer bytes quoted in an error: printable ASCII only, and short.
    private static func sanitized(_ bytes: ArraySlice<UInt8>) -> String {
        let shown = bytes.prefix(40).map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "?" }
        return String(shown) + (bytes.count > 40 ? "..." : "")
    }

    // MARK: Buffer

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// The index of the next `\n` at or after `readIndex`, remembering how far was searched.
    private mutating func findNewline() -> Int? {
        let start = max(scanIndex, readIndex)
        if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) { return newline }
        scanIndex = buffer.count
        return nil
    }

    private mutating func consume(upTo index: Int) {
        readIndex = index
        scanIndex = max(scanIndex, readIndex)
    }

    private mutating func dropBufferedBytes() {
        consume(upTo: buffer.count)
    }

    /// Reclaims consumed bytes; amortized O(1) per byte because it only moves the unconsumed
    /// tail once at least half the buffer is consumed.
    private mutating func compactBuffer() {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            // Let a buffer that grew for one large message shrink back.
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
        } else if readIndex >= 4096 && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
        } else {
            return
        }
        scanIndex -= readIndex
        readIndex = 0
    }
}
