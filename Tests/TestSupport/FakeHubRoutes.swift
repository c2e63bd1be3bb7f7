import Foundation

/// The request handlers of `FakeHub`, one per endpoint family.
struct FakeHubRoutes: Sendable {
    let hub: FakeHub

    // MARK: Legacy owner-less ids

    /// `/api/models/gpt2/…`, `/gpt2/resolve/…`, `/api/resolve-cache/models/gpt2/…`: a relative 307
    /// to the same path under the repo's owner.
    func legacyRedirect(_ request: HTTPRequest) -> HTTPResponse? {
        for prefix in ["/api/models/", "/api/resolve-cache/models/", "/"] where request.path.hasPrefix(prefix) {
            let rest = request.path.dropFirst(prefix.count)
            guard let slash = rest.firstIndex(of: "/"), let owner = hub.legacyOwner(of: String(rest[..<slash])) else { continue }
            let next = rest[rest.index(after: slash)...]
            let kind = next.split(separator: "/").first.map(String.init) ?? ""
            let ownerLess = prefix == "/" ? kind == "resolve" : prefix == "/api/models/" ? ["revision", "tree"].contains(kind) : kind.count == 40
            if ownerLess { return .redirect(to: prefix + owner + rest[slash...], status: 307) }
        }
        return nil
    }

    // MARK: /api/models/{org}/{name}/revision|tree/{rev}

    func api(_ request: HTTPRequest) -> HTTPResponse {
        var segments = Self.segments(request.path, after: "/api/models/")
        // `/api/models/{org}/{name}` is the model's info at its default branch.
        if segments.count == 2 { segments += ["revision", "main"] }
        guard segments.count >= 4, ["revision", "tree", "paths-info"].contains(segments[2]) else { return .notFound() }
        let repoId = segments[0] + "/" + segments[1]
        let revision = segments[3]
        if let denial = gate(repoId, request, content: false) { return denial }
        let repo = hub.repo(repoId)!
        guard let commit = repo.commit(for: revision), let files = repo.commits[commit] else {
            return Self.error(404, code: "RevisionNotFound", "Invalid rev id: \(revision)")
        }
        if segments[2] == "revision" { return info(repo, commit: commit, files: files) }
        if segments[2] == "paths-info" { return pathsInfo(request, files: files) }
        return tree(request, repo: repo, rawRevision: Self.rawSegment(request.path, after: "/api/models/", index: 3),
                    files: files, under: segments.dropFirst(4).joined(separator: "/"))
    }

    private func info(_ repo: FakeHubRepoState, commit: String, files: [FakeHubStoredFile]) -> HTTPResponse {
        var gated: Any = false
        var isPrivate = false
        switch repo.access {
        case .open: break
        case .gated: gated = "manual"
        case .restricted: isPrivate = true
        }
        let object: [String: Any] = [
            "_id": String(commit.prefix(24)), "id": repo.id, "modelId": repo.id, "author": String(repo.id.split(separator: "/")[0]),
            "sha": commit, "private": isPrivate, "gated": gated, "disabled": false,
            "lastModified": "2025-01-31T12:00:00.000Z", "tags": [String](), "downloads": 0, "likes": 0,
            "siblings": files.map { ["rfilename": $0.path] },
        ]
        return .json(data: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// `POST /api/models/{repo}/paths-info/{rev}` with form fields `paths=…` (what mirrors such
    /// as olah ask before serving a file): the tree entries of those files.
    private func pathsInfo(_ request: HTTPRequest, files: [FakeHubStoredFile]) -> HTTPResponse {
        let asked = Set(request.bodyText.split(separator: "&").compactMap { field -> String? in
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0] == "paths" else { return nil }
            return parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        })
        let entries = files.filter { asked.contains($0.path) }.map { file -> [String: Any] in
            var json: [String: Any] = ["type": "file", "oid": file.oid, "size": file.size, "path": file.path]
            if file.lfs { json["lfs"] = ["oid": file.sha256, "size": file.size, "pointerSize": file.pointerSize] }
            return json
        }
        return .json(data: try! JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys]))
    }

    private func tree(_ request: HTTPRequest, repo: FakeHubRepoState, rawRevision: String,
                      files: [FakeHubStoredFile], under folder: String) -> HTTPResponse {
        let recursive = ["true", "True", "1"].contains(request.queryValue("recursive") ?? "")
        var entries: [(path: String, json: [String: Any])] = []
        var directories = Set<String>()
        for file in files {
            let parts = file.path.split(separator: "/").map(String.init)
            for depth in 1..<max(1, parts.count) { directories.insert(parts[0..<depth].joined(separator: "/")) }
            var json: [String: Any] = ["type": "file", "oid": file.oid, "size": file.size, "path": file.path]
            if file.lfs { json["lfs"] = ["oid": file.sha256, "size": file.size, "pointerSize": file.pointerSize] }
            entries.append((file.path, json))
        }
        for directory in directories {
            entries.append((directory, ["type": "directory", "oid": String(repeating: "d", count: 40), "size": 0, "path": directory]))
        }
        let prefix = folder.isEmpty ? "" : folder + "/"
        entries = entries.filter { entry in
            guard entry.path.utf8.starts(with: prefix.utf8) else { return false }
            return recursive || !entry.path.utf8.dropFirst(prefix.utf8.count).contains(UInt8(ascii: "/"))
        }.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }

        let pageSize = hub.pageSize
        let start = min(Int(request.queryValue("cursor") ?? "") ?? 0, entries.count)
        let end = min(start + pageSize, entries.count)
        var response = HTTPResponse.json(data: try! JSONSerialization.data(withJSONObject: entries[start..<end].map(\.json),
                                                                           options: [.sortedKeys]))
        if end < entries.count {
            let folderPart = folder.isEmpty ? "" : "/" + folder
            let next = hub.hub.url("/api/models/\(repo.id)/tree/\(rawRevision)\(folderPart)?recursive=\(recursive)&cursor=\(end)")
            response.headers.add("Link", "<\(next.absoluteString)>; rel=\"next\"")
        }
        return response
    }

    // MARK: /{org}/{name}/resolve/{rev}/{path}

    func resolve(_ request: HTTPRequest) -> HTTPResponse {
        let segments = Self.segments(request.path, after: "/")
        guard segments.count >= 5, segments[2] == "resolve" else { return .notFound() }
        let repoId = segments[0] + "/" + segments[1]
        let revision = segments[3]
        let path = segments.dropFirst(4).joined(separator: "/")
        if let denial = gate(repoId, request, content: true) { return denial }
        let repo = hub.repo(repoId)!
        guard let commit = repo.commit(for: revision) else {
            return Self.error(404, code: "RevisionNotFound", "Invalid rev id: \(revision)")
        }
        guard let file = repo.commits[commit]?.first(where: { $0.path.isByteEqual(to: path) }) else {
            return Self.error(404, code: "EntryNotFound", "\(path) does not exist on \"\(revision)\"")
                .setting("X-Repo-Commit", commit)
        }
        if file.lfs {
            let location = hub.cdn.url(hub.cdnPath(file) + "?X-Amz-Signature=fakesignature&X-Amz-Expires=3600")
            return HTTPResponse.redirect(to: location.absoluteString, status: 302)
                .setting("X-Repo-Commit", commit)
                .setting("X-Linked-Etag", "\"\(file.sha256)\"")
                .setting("X-Linked-Size", String(file.size))
                .setting("ETag", "\"\(file.oid)\"")
        }
        // Relative, like the Hub's: clients must resolve it against the request URL.
        let location = "/api/resolve-cache/models/\(repoId)/\(commit)/\(Self.encode(path))?etag=%22\(file.oid)%22"
        return HTTPResponse.redirect(to: location, status: 307)
            .setting("X-Repo-Commit", commit)
            .setting("ETag", "\"\(file.oid)\"")
    }

    // MARK: /api/resolve-cache/models/{org}/{name}/{commit}/{path}

    func resolveCache(_ request: HTTPRequest) -> HTTPResponse {
        let segments = Self.segments(request.path, after: "/api/resolve-cache/models/")
        guard segments.count >= 4 else { return .notFound() }
        let repoId = segments[0] + "/" + segments[1]
        if let denial = gate(repoId, request, content: true) { return denial }
        let commit = segments[2]
        let path = segments.dropFirst(3).joined(separator: "/")
        guard let file = hub.repo(repoId)?.commits[commit]?.first(where: { $0.path.isByteEqual(to: path) }) else {
            return Self.error(404, code: "EntryNotFound", "\(path) does not exist")
        }
        return StaticFile(data: file.data, etag: "\"\(file.oid)\"", extraHeaders: ["X-Repo-Commit": commit])
            .response(for: request)
    }

    // MARK: CDN /repos/{xx}/{sha256}

    func cdnBlob(_ request: HTTPRequest) -> HTTPResponse {
        // S3 refuses a second auth mechanism next to the signed query; so does our CDN.
        if request.header("Authorization") != nil {
            return .text("<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>",
                         status: 400, contentType: "application/xml")
        }
        guard let sha = request.path.split(separator: "/").last.map(String.init), let file = hub.blob(sha) else {
            return .status(404)
        }
        hub.runCDNHook(request)
        return StaticFile(data: file.data, etag: "\"\(file.sha256)\"").response(for: request)
    }

    // MARK: Access

    /// The Hub's answers for tokens and access, in its order: an unknown token is 401 anywhere;
    /// a private repo looks missing (401 anonymous, 404 with a token that cannot read it); a
    /// gated repo shows metadata but refuses files (401 anonymous, 403 not approved).
    private func gate(_ repoId: String, _ request: HTTPRequest, content: Bool) -> HTTPResponse? {
        let token = request.header("Authorization").flatMap { value -> String? in
            value.hasPrefix("Bearer ") ? String(value.dropFirst("Bearer ".count)) : nil
        }
        if let token, !hub.isKnown(token) {
            return Self.error(401, code: nil, "Invalid credentials in Authorization header")
        }
        guard let repo = hub.repo(repoId) else {
            return Self.error(token == nil ? 401 : 404, code: "RepoNotFound", "Repository not found")
        }
        switch repo.access {
        case .open:
            return nil
        case .restricted(let readers):
            guard let token else { return Self.error(401, code: "RepoNotFound", "Repository not found") }
            return readers.contains(token) ? nil : Self.error(404, code: "RepoNotFound", "Repository not found")
        case .gated(let approved):
            guard content else { return nil }
            guard let token else {
                return Self.error(401, code: "GatedRepo",
                    "Access to model \(repoId) is restricted. You must have access to it and be authenticated to access it. Please log in.")
            }
            return approved.contains(token) ? nil : Self.error(403, code: "GatedRepo",
                "Access to model \(repoId) is restricted and you are not in the authorized list. Visit \(hub.endpoint)/\(repoId) to ask for access.")
        }
    }

    // MARK: Helpers

    static func error(_ status: Int, code: String?, _ message: String) -> HTTPResponse {
        let body = try! JSONSerialization.data(withJSONObject: ["error": message])
        var response = HTTPResponse.json(data: body, status: status).setting("X-Error-Message", message)
        if let code { response = response.setting("X-Error-Code", code) }
        return response
    }

    /// Path segments after `prefix`, each percent-decoded (so `refs%2Fpr%2F1` stays one segment).
    static func segments(_ path: String, after prefix: String) -> [String] {
        path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
            .map { percentDecoded($0) ?? String($0) }
    }

    /// Byte-exact: Foundation's `removingPercentEncoding` drops a leading U+FEFF (it decodes
    /// the way a file with a byte-order mark is read), which would turn a real file name into
    /// another one.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func rawSegment(_ path: String, after prefix: String, index: Int) -> String {
        let raw = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        return index < raw.count ? String(raw[index]) : ""
    }

    static func encode(_ path: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        allowed.insert("/")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }
}
