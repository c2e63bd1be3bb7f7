import Foundation

/// Reads HTTP/1.x requests off one connection. Bytes received past the end of a request are
/// kept for the next one, so keep-alive and pipelined requests both work.
struct RequestReader {
    /// The request line and headers, before the body has been read.
    struct Head {
        var method: String
        var target: String
        var version: String
        var headers: HTTPHeaders
    }

    enum ReadError: Error {
        /// The peer closed (or the server shut the socket) partway through a request.
        case truncated
        /// Not parseable as HTTP/1.x; the server answers 400 and closes.
        case malformed(String)
        /// The header block exceeded `maxHeaderBytes`; the server answers 431 and closes.
        case headersTooLarge
    }

    static let maxHeaderBytes = 64 * 1024

    private let fd: Int32
    /// Received but not yet consumed bytes. An array (not Data) so offsets are always 0-based.
    private var buffer: [UInt8] = []

    init(fd: Int32) {
        self.fd = fd
    }

    /// Reads the next request head. Returns nil on a clean end of stream between requests.
    mutating func readHead() throws -> Head? {
        // RFC 9112 §2.2: ignore empty lines received before a request line.
        while true {
            if buffer.starts(with: [13, 10]) { buffer.removeFirst(2); continue }
            if buffer.starts(with: [10]) { buffer.removeFirst(1); continue }
            if let end = headerEnd() {
                let headBytes = Array(buffer[..<end.start])
                buffer.removeFirst(end.end)
                return try parseHead(headBytes)
            }
            guard buffer.count <= Self.maxHeaderBytes else { throw ReadError.headersTooLarge }
            let more = try Socket.receive(fd)
            if more.isEmpty {
                if buffer.isEmpty { return nil }
                throw ReadError.truncated
            }
            buffer.append(contentsOf: more)
        }
    }

    /// Reads exactly `length` body bytes (the `Content-Length` framing).
    mutating func readBody(length: Int) throws -> Data {
        while buffer.count < length {
            let more = try Socket.receive(fd, maxBytes: max(64 * 1024, min(length - buffer.count, 1 << 20)))
            if more.isEmpty { throw ReadError.truncated }
            buffer.append(contentsOf: more)
        }
        let body = Data(buffer[..<length])
        buffer.removeFirst(length)
        return body
    }

    /// Reads a `Transfer-Encoding: chunked` request body (curl `-T -`, streamed uploads).
    mutating func readChunkedBody() throws -> Data {
        var body = Data()
        while true {
            let sizeLine = try readLine()
            let hex = sizeLine.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            guard let size = Int(hex.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw ReadError.malformed("bad chunk size line \(sizeLine.debugDescription)")
            }
            if size == 0 {
                // Skip trailer fields up to the blank line that ends the body.
                while try !readLine().isEmpty {}
                return body
            }
            body.append(try readBody(length: size))
            guard try readLine().isEmpty else { throw ReadError.malformed("missing CRLF after chunk") }
        }
    }

    // MARK: - Private

    private mutating func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                var line = buffer[..<newline]
                if line.last == 13 { line = line.dropLast() }
                let text = String(decoding: line, as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return text
            }
            guard buffer.count <= Self.maxHeaderBytes else { throw ReadError.headersTooLarge }
            let more = try Socket.receive(fd)
            if more.isEmpty { throw ReadError.truncated }
            buffer.append(contentsOf: more)
        }
    }

    /// Finds the blank line ending the header block, accepting bare LF as well as CRLF.
    private func headerEnd() -> (start: Int, end: Int)? {
        var index = 0
        while let newline = buffer[index...].firstIndex(of: 10) {
            let next = newline + 1
            if next < buffer.count, buffer[next] == 10 { return (newline, next + 1) }
            if next + 1 < buffer.count, buffer[next] == 13, buffer[next + 1] == 10 { return (newline, next + 2) }
            index = next
        }
        return nil
    }

    private func parseHead(_ bytes: [UInt8]) throws -> Head {
        // Split on LF bytes, not Characters: in Swift "\r\n" is one Character, so String-level
        // splitting on "\n" would never see CRLF line ends.
        var lines = bytes.split(separator: 10, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
        }
        guard !lines.isEmpty else { throw ReadError.malformed("empty request") }
        let requestLine = lines.removeFirst()
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
            throw ReadError.malformed("bad request line \(requestLine.debugDescription)")
        }
        var headers: HTTPHeaders = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix(" "), !line.hasPrefix("\t") else {
                throw ReadError.malformed("bad header line \(line.debugDescription)")
            }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.add(name, value)
        }
        return Head(method: String(parts[0]), target: String(parts[1]), version: String(parts[2]), headers: headers)
    }
}
