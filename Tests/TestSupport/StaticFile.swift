import Foundation

/// Serves an in-memory blob the way a real file server / CDN does, so resumable-download code
/// is tested against correct HTTP semantics:
///
/// - `ETag`, `Accept-Ranges: bytes`, `Content-Length`, `Content-Type`, optional `Last-Modified`;
/// - `Range: bytes=a-b | a- | -n` → 206 with `Content-Range: bytes a-b/total`;
///   unsatisfiable → 416 with `Content-Range: bytes */total`; malformed or multi-range → 200;
/// - `If-Range` that does not match the current ETag (or Last-Modified) → full 200;
/// - `If-None-Match` matching the ETag → 304.
///
/// `supportsRanges = false` imitates servers that ignore Range (always 200, no Accept-Ranges);
/// `transfer = .chunked(...)` sends the body chunked instead of with Content-Length.
///
///     router.file("/repo/resolve/main/model.bin", StaticFile(data: blob))
///     router.get("/x") { StaticFile(data: blob, supportsRanges: false).response(for: $0) }
public struct StaticFile: Sendable {
    public enum Transfer: Sendable, Equatable {
        case contentLength
        /// Chunked encoding with chunks of this many bytes.
        case chunked(chunkSize: Int)
    }

    public var data: Data
    /// Full header value including quotes, e.g. `"abc123"` or `W/"abc"`; nil sends no ETag.
    public var etag: String?
    public var contentType: String
    public var lastModified: String?
    public var supportsRanges: Bool
    public var transfer: Transfer
    /// Extra fields added to every response (e.g. `X-Repo-Commit`, `X-Linked-Size`).
    public var extraHeaders: HTTPHeaders

    public init(
        data: Data,
        etag: String? = nil,
        contentType: String = "application/octet-stream",
        lastModified: String? = nil,
        supportsRanges: Bool = true,
        transfer: Transfer = .contentLength,
        extraHeaders: HTTPHeaders = [:]
    ) {
        self.data = data
        self.etag = etag ?? Self.defaultETag(for: data)
        self.contentType = contentType
        self.lastModified = lastModified
        self.supportsRanges = supportsRanges
        self.transfer = transfer
        self.extraHeaders = extraHeaders
    }

    /// A strong ETag derived from the content (64-bit FNV-1a of the bytes, plus the length).
    public static func defaultETag(for data: Data) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        data.withUnsafeBytes { raw in
            for byte in raw {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
        }
        return "\"\(String(hash, radix: 16))-\(String(data.count, radix: 16))\""
    }

    /// The response for a GET or HEAD of this file.
    public func response(for request: HTTPRequest) -> HTTPResponse {
        let total = data.count
        if let etag, let candidates = request.header("If-None-Match"), Self.matches(candidates, etag: etag) {
            return HTTPResponse(status: 304, headers: baseHeaders())
        }
        guard supportsRanges, let range = ByteRange(header: request.header("Range")), ifRangeHolds(request) else {
            return body(data, status: 200)
        }
        guard let span = range.resolve(total: total) else {
            var headers = baseHeaders()
            headers.set("Content-Range", "bytes */\(total)")
            headers.set("Content-Type", "text/plain; charset=utf-8")
            return HTTPResponse(status: 416, headers: headers, body: .bytes(Data("416 Range Not Satisfiable\n".utf8)))
        }
        var response = body(data.subdata(in: span.lowerBound..<(span.upperBound + 1)), status: 206)
        response.headers.set("Content-Range", "bytes \(span.lowerBound)-\(span.upperBound)/\(total)")
        return response
    }

    // MARK: - Private

    private func body(_ bytes: Data, status: Int) -> HTTPResponse {
        var headers = baseHeaders()
        headers.set("Content-Type", contentType)
        switch transfer {
        case .contentLength:
            headers.set("Content-Length", String(bytes.count))
            return HTTPResponse(status: status, headers: headers, body: .bytes(bytes))
        case .chunked(let size):
            let step = max(1, size)
            let chunks = stride(from: 0, to: bytes.count, by: step).map {
                bytes.subdata(in: $0..<min($0 + step, bytes.count))
            }
            return HTTPResponse(status: status, headers: headers, body: .chunked(chunks))
        }
    }

    private func baseHeaders() -> HTTPHeaders {
        var headers: HTTPHeaders = [:]
        if supportsRanges { headers.add("Accept-Ranges", "bytes") }
        if let etag { headers.add("ETag", etag) }
        if let lastModified { headers.add("Last-Modified", lastModified) }
        for field in extraHeaders { headers.add(field.name, field.value) }
        return headers
    }

    /// `If-Range` lets a resuming client say "only send the range if the file is unchanged".
    /// It must match exactly (strong comparison); anything else means "send everything".
    private func ifRangeHolds(_ request: HTTPRequest) -> Bool {
        guard let condition = request.header("If-Range")?.trimmingCharacters(in: .whitespaces) else { return true }
        if condition.hasPrefix("\"") || condition.hasPrefix("W/") {
            guard let etag, !etag.hasPrefix("W/"), !condition.hasPrefix("W/") else { return false }
            return condition == etag
        }
        return condition == lastModified
    }

    /// `If-None-Match` uses weak comparison and may list several tags or `*`.
    private static func matches(_ list: String, etag: String) -> Bool {
        let opaque = { (tag: String) in tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag }
        return list.split(separator: ",").contains { item in
            let tag = item.trimmingCharacters(in: .whitespaces)
            return tag == "*" || opaque(tag) == opaque(etag)
        }
    }
}
