import Foundation

/// Where one file's bytes can be fetched from, and with which headers (the token only when the
/// place is on the Hub's own origin).
struct HubFileLocation: Sendable {
    var url: URL
    var headers: [String: String]
}

/// The three Hub calls a download needs: revision → commit, the file listing at that commit,
/// and where each file's bytes are.
struct HubAPI: Sendable {
    let settings: HubSettings
    let requester: APIRequester
    let context: HubErrorContext
    /// Pages are cursors the Hub chooses; a listing that never ends is a broken server.
    let maxPages = 10_000
    /// Bounds on what one listing may hold, so that a broken or hostile Hub can neither exhaust
    /// memory (every listed file is kept until the download ends) nor overflow byte counts. The
    /// Hub recommends fewer than 100k files per repo; real paths are tens of bytes; no disk holds
    /// an exabyte.
    static let maxListedFiles = 250_000
    static let maxListedPathBytes = 32 << 20
    static let maxListedBytes: Int64 = 1 << 62

    private var repoId: String { context.model }

    /// The commit `revision` names now. A 40-hex revision is already one (as in Python, no call).
    func resolveCommit(_ revision: String) async throws -> String {
        if HexString.isCommit(revision) { return revision }
        let path = "api/models/\(repoId)/revision/\(HubURLEncoding.segment(revision))"
        let response = try await get(path, redirects: .follow)
        guard response.head.isSuccess else { throw failure(response) }
        struct Info: Decodable { var sha: String? }
        guard let info = try? JSONDecoder().decode(Info.self, from: response.body), let sha = info.sha,
              HexString.isCommit(sha) else {
            throw DownloadFailure(.upstream,
                "The Hub's answer for '\(repoId)' at '\(revision)' has no commit id; is \(settings.endpoint.redactedForLogs) a Hugging Face Hub?",
                retryable: false)
        }
        return sha
    }

    /// Every file at `commit`, following `Link: <…>; rel="next"` cursor pages.
    func listFiles(commit: String) async throws -> [HubFile] {
        guard var next = settings.url("api/models/\(repoId)/tree/\(commit)?recursive=true") else {
            throw DownloadFailure(.invalidModel, "Cannot build a Hub URL for '\(repoId)'.")
        }
        var files: [HubFile] = []
        // Bytes, not Strings: an NFC and an NFD spelling of one name are two files.
        var seenPaths = Set<ExactPath>()
        var seenPages = Set<String>()
        var pathBytes = 0
        var totalBytes: Int64 = 0
        for _ in 0..<maxPages {
            seenPages.insert(next.absoluteString)
            let response = try await requester.send(HTTPRequest(url: next, headers: settings.authorization, redirects: .follow,
                                                                idleTimeout: settings.metadataTimeout))
            guard response.head.isSuccess else { throw failure(response) }
            for file in try HubTreePage.files(in: response.body, model: repoId, secrets: settings.secrets) where seenPaths.insert(ExactPath(file.path)).inserted {
                files.append(file)
                pathBytes += file.path.utf8.count
                guard files.count <= Self.maxListedFiles, pathBytes <= Self.maxListedPathBytes else {
                    throw DownloadFailure(.upstream,
                        "The file listing of '\(repoId)' goes on beyond \(Self.maxListedFiles) files (or \(ByteFormat.string(Int64(Self.maxListedPathBytes))) of names); ModelPull refuses listings that large (the Hub recommends fewer than 100,000 files per repo).",
                        retryable: false, details: ["listedFiles": .int(Int64(files.count))])
                }
                // Sizes are at most `maxListedBytes` each and in sum, so no count can overflow.
                guard file.size <= Self.maxListedBytes - totalBytes else {
                    throw DownloadFailure(.upstream,
                        "The Hub's listing of '\(repoId)' claims more than \(ByteFormat.string(Self.maxListedBytes)) of files ('\(file.path)' alone: \(file.size) bytes); that is not a real repo. Is \(settings.endpoint.redactedForLogs) a Hugging Face Hub?",
                        retryable: false, details: ["file": .string(file.path)])
                }
                totalBytes += file.size
            }
            guard let link = response.headers["Link"].flatMap(HubTreePage.nextLink),
                  let url = URL(string: link, relativeTo: next)?.absoluteURL else { return files }
            // The cursor URL gets the token: it must stay on the Hub's origin.
            guard url.origin == settings.endpoint.origin, !seenPages.contains(url.absoluteString) else {
                throw DownloadFailure(.upstream,
                    "The Hub's file listing for '\(repoId)' points its next page at \(url.redactedForLogs), which is not the Hub or was already read; refusing to follow it.",
                    retryable: false)
            }
            next = url
        }
        throw DownloadFailure(.upstream, "The file listing of '\(repoId)' did not end after \(maxPages) pages.", retryable: false)
    }

    /// Asks `/resolve/{commit}/{path}` where the bytes are, as `get_hf_file_metadata` does:
    /// same-origin redirects (the relative 307 of regular files) are followed with the token;
    /// a redirect to another host (the 302 to the CDN for LFS files) is not followed, and that
    /// host is then fetched without `Authorization`.
    func location(of file: HubFile, commit: String) async throws -> HubFileLocation {
        let path = "\(repoId)/resolve/\(commit)/\(HubURLEncoding.path(file.path))"
        let response = try await head(path)
        if response.head.isSuccess {
            return HubFileLocation(url: response.head.url, headers: settings.authorization)
        }
        if response.head.isRedirect, let location = response.headers["Location"],
           let target = URL(string: location, relativeTo: response.head.url)?.absoluteURL {
            let onHub = target.origin == settings.endpoint.origin
            return HubFileLocation(url: target, headers: onHub ? settings.authorization : [:])
        }
        var fileContext = context
        fileContext.file = file.path
        throw HubFailures.map(status: response.status, headers: response.headers, body: response.body, context: fileContext)
    }

    /// `/resolve/{commit}/{path}` itself, to GET with redirects followed: for small files, whose
    /// size and digest the listing already gave, a HEAD first would only double the requests.
    /// The token goes to the Hub only; `RedirectPolicy.follow` drops it at the first other host.
    func resolveLocation(of file: HubFile, commit: String) throws(DownloadFailure) -> HubFileLocation {
        guard let url = settings.url("\(repoId)/resolve/\(commit)/\(HubURLEncoding.path(file.path))") else {
            throw DownloadFailure(.invalidModel, "Cannot build a Hub URL for '\(repoId)'.")
        }
        return HubFileLocation(url: url, headers: settings.authorization)
    }

    // MARK: Pieces

    private func get(_ path: String, redirects: RedirectPolicy) async throws -> HTTPResponse {
        guard let url = settings.url(path) else {
            throw DownloadFailure(.invalidModel, "Cannot build a Hub URL for '\(repoId)'.")
        }
        return try await requester.send(HTTPRequest(url: url, headers: settings.authorization, redirects: redirects,
                                                    idleTimeout: settings.metadataTimeout))
    }

    private func head(_ path: String) async throws -> HTTPResponse {
        guard let url = settings.url(path) else {
            throw DownloadFailure(.invalidModel, "Cannot build a Hub URL for '\(repoId)'.")
        }
        return try await requester.send(HTTPRequest(url: url, method: "HEAD", headers: settings.authorization,
                                                    redirects: .stopAtCrossOrigin, idleTimeout: settings.metadataTimeout))
    }

    private func failure(_ response: HTTPResponse) -> DownloadFailure {
        HubFailures.map(status: response.status, headers: response.headers, body: response.body, context: context)
    }
}

/// Decoding of `/api/models/{repo}/tree/{rev}` pages and their `Link` header.
enum HubTreePage {
    private struct Entry: Decodable {
        struct LFS: Decodable {
            var oid: String
            var size: Int64
        }
        var type: String
        var oid: String?
        var size: Int64?
        var path: String
        var lfs: LFS?
    }

    static func files(in body: Data, model: String, secrets: [String] = []) throws(DownloadFailure) -> [HubFile] {
        guard let entries = try? JSONDecoder().decode([Entry].self, from: body) else {
            throw DownloadFailure(.upstream, "The Hub's file listing for '\(model)' is not the JSON array it should be.", retryable: false)
        }
        var files: [HubFile] = []
        for entry in entries where entry.type == "file" {
            try SafePath.validate(entry.path, what: "file path in \(model)", secrets: secrets)
            let blobId = entry.oid?.lowercased() ?? ""
            let sha = entry.lfs?.oid.lowercased()
            guard HexString.isHex(blobId, length: 40), sha.map({ HexString.isHex($0, length: 64) }) ?? true,
                  let size = entry.lfs?.size ?? entry.size, size >= 0 else {
                throw DownloadFailure(.upstream,
                    "The Hub's listing gives '\(entry.path)' of '\(model)' no valid id, digest or size; cannot verify it.",
                    retryable: false)
            }
            files.append(HubFile(path: entry.path, size: size, blobId: blobId, lfsSHA256: sha))
        }
        return files
    }

    /// The URL of `rel="next"` in a `Link` header (`<url>; rel="next", <url>; rel="prev"`).
    static func nextLink(_ header: String) -> String? {
        var rest = Substring(header)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            let url = rest[rest.index(after: open)..<close]
            let afterURL = rest[rest.index(after: close)...]
            let paramsEnd = afterURL.firstIndex(of: "<") ?? afterURL.endIndex
            let params = afterURL[..<paramsEnd].lowercased()
            if params.contains("rel=\"next\"") || params.contains("rel=next") { return String(url) }
            rest = afterURL[paramsEnd...]
        }
        return nil
    }
}
