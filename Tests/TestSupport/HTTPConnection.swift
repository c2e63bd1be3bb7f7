import Foundation

/// Serves one accepted TCP connection on its own thread: read a request, log it, apply faults,
/// call the handler, write the response; repeat while the connection is kept alive.
final class HTTPConnection: @unchecked Sendable {
    private let fd: Int32
    private let index: Int
    private let core: ServerCore
    private var reader: RequestReader

    init(fd: Int32, index: Int, core: ServerCore) {
        self.fd = fd
        self.index = index
        self.core = core
        self.reader = RequestReader(fd: fd)
    }

    /// Runs until the client closes, asks to close, a fault drops the connection, or the server
    /// stops. Always closes the socket on the way out.
    func run() {
        defer { core.connections.close(index) }
        var position = 0
        while !core.stopSignal.isStopped {
            let request: HTTPRequest
            do {
                guard let next = try readRequest(position: position) else { return }
                request = next
            } catch RequestReader.ReadError.malformed(let reason) {
                sendErrorAndClose(400, reason)
                return
            } catch RequestReader.ReadError.headersTooLarge {
                sendErrorAndClose(431, "header block larger than \(RequestReader.maxHeaderBytes) bytes")
                return
            } catch {
                return  // peer went away (or stop() shut the socket) mid-request
            }
            position += 1
            core.log.append(request)
            do {
                guard try respond(to: request) else { return }
            } catch {
                return  // deliberate drop, stop(), or the client hung up
            }
        }
    }

    // MARK: - Reading

    private func readRequest(position: Int) throws -> HTTPRequest? {
        guard let head = try reader.readHead() else { return nil }
        let chunked = head.headers.hasToken("chunked", in: "Transfer-Encoding")
        var length = 0
        if !chunked, let text = head.headers["Content-Length"] {
            guard let parsed = Int(text.trimmingCharacters(in: .whitespaces)), parsed >= 0 else {
                throw RequestReader.ReadError.malformed("bad Content-Length \(text.debugDescription)")
            }
            length = parsed
        }
        // curl (and others) wait for "100 Continue" before sending a large body; answer it
        // rather than making every upload test pay curl's one-second fallback delay.
        if (chunked || length > 0) && head.headers.hasToken("100-continue", in: "Expect") {
            try Socket.sendAll(fd, Data("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        let body = chunked ? try reader.readChunkedBody() : try reader.readBody(length: length)
        return HTTPRequest(
            method: head.method,
            target: head.target,
            version: head.version,
            headers: head.headers,
            body: body,
            connectionIndex: index,
            indexOnConnection: position,
            receivedAt: Date()
        )
    }

    // MARK: - Responding

    /// Sends the response. Returns whether the connection may serve another request.
    private func respond(to request: HTTPRequest) throws -> Bool {
        let plan = FaultPlan(core.faults.take(for: request))
        if plan.firstByteDelay > 0, !core.stopSignal.sleep(plan.firstByteDelay) { throw ConnectionAborted() }

        let response = plan.replacement ?? core.handler(request)
        let mayHaveBody = HTTPResponse.allowsBody(status: response.status)
        let sendsBody = mayHaveBody && request.method.uppercased() != "HEAD"
        var headers = response.headers
        var close = request.wantsClose || headers.hasToken("close", in: "Connection") || core.stopSignal.isStopped

        // Decide framing. A handler-set Content-Length always wins (tests use it to promise
        // more or fewer bytes than they send); otherwise bytes get a length and chunks/streams
        // get chunked encoding, except for HTTP/1.0 clients, which only understand close.
        // A list ("1000, 990": a conflicting length under test) sends what its first value says.
        var promisedLength = headers["Content-Length"].flatMap {
            Int($0.split(separator: ",").first?.trimmingCharacters(in: .whitespaces) ?? "")
        }
        var framing = BodyChannel.Framing.raw
        if mayHaveBody {
            let handlerChunked = headers.hasToken("chunked", in: "Transfer-Encoding")
            switch response.body {
            case .bytes(let data):
                if handlerChunked {
                    framing = .chunked
                } else if promisedLength == nil {
                    headers.set("Content-Length", String(data.count))
                    promisedLength = data.count
                }
            case .chunked, .stream:
                if handlerChunked || (promisedLength == nil && request.version != "HTTP/1.0") {
                    headers.set("Transfer-Encoding", "chunked")
                    framing = .chunked
                } else if promisedLength == nil {
                    close = true  // HTTP/1.0 without a length: closing delimits the body
                }
            }
        }
        if close { headers.set("Connection", "close") }

        try sendHead(Self.head(status: response.status, reason: response.reason, headers: headers),
                     linePause: plan.headLineDelay)
        guard sendsBody else { return !close }

        let channel = BodyChannel(
            fd: fd, framing: framing, faults: plan.body, path: request.path,
            counters: core.counters, stopSignal: core.stopSignal
        )
        try writeBody(response.body, to: channel)
        try channel.finish()
        // A raw body that did not match its promised length (or had none) leaves the client
        // unable to find the next response: closing is the only honest end.
        if framing == .raw && promisedLength != channel.bytesSent { close = true }
        return !close
    }

    /// Sends the head at once, or a line at a time `linePause` apart (`Fault.dripHead`).
    private func sendHead(_ head: Data, linePause: TimeInterval) throws {
        guard linePause > 0 else { return try Socket.sendAll(fd, head) }
        var lineStart = head.startIndex
        for index in head.indices where head[index] == UInt8(ascii: "\n") {
            if lineStart != head.startIndex, !core.stopSignal.sleep(linePause) { throw ConnectionAborted() }
            try Socket.sendAll(fd, head[lineStart...index])
            lineStart = head.index(after: index)
        }
    }

    private func writeBody(_ body: HTTPResponse.Body, to channel: BodyChannel) throws {
        switch body {
        case .bytes(let data):
            try channel.write(data)
        case .chunked(let chunks, let delay):
            var first = true
            for chunk in chunks where !chunk.isEmpty {
                if !first && delay > 0 { try channel.sleep(delay) }
                first = false
                try channel.write(chunk)
            }
        case .stream(let produce):
            try produce(ResponseWriter(channel: channel))
        }
    }

    private static func head(status: Int, reason: String?, headers: HTTPHeaders) -> Data {
        var text = "HTTP/1.1 \(status) \(reason ?? HTTPResponse.reasonPhrase(for: status))\r\n"
        for field in headers { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Data(text.utf8)
    }

    private func sendErrorAndClose(_ status: Int, _ reason: String) {
        let body = Data("\(status) \(HTTPResponse.reasonPhrase(for: status)): \(reason)\n".utf8)
        let headers: HTTPHeaders = [
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Length": String(body.count),
            "Connection": "close",
        ]
        try? Socket.sendAll(fd, Self.head(status: status, reason: nil, headers: headers) + body)
    }
}
