import Foundation

/// A Hugging Face Hub on loopback, behaving like the real one on the wire (see
/// reference/hf-protocol.md), with a second server as the CDN that LFS files redirect to:
///
/// - `GET /api/models/{repo}/revision/{rev}` → `{"id", "sha", …}`;
/// - `GET /api/models/{repo}/tree/{rev}?recursive=true` → entries, `pageSize` at a time, with
///   `Link: <…&cursor=…>; rel="next"` (absolute, as the Hub sends it);
/// - `HEAD|GET /{repo}/resolve/{rev}/{path}` → a relative 307 to `/api/resolve-cache/…` for
///   regular files, a 302 to the CDN for LFS files, with `X-Repo-Commit`, `ETag`,
///   `X-Linked-Etag`, `X-Linked-Size`;
/// - errors with `X-Error-Code`/`X-Error-Message` (RepoNotFound, GatedRepo, RevisionNotFound,
///   EntryNotFound) and 401 for unknown tokens; gated and restricted (private) repos.
///
/// The CDN refuses requests that carry `Authorization` (as S3 does), and tests can check its
/// request log and byte counters. Faults go through `hub.faults` and `cdn.faults`.
///
///     let fake = try FakeHub()
///     let commit = fake.addRepo("acme/tiny", files: [.text("config.json", "{}"), .lfs("model.safetensors", blob)])
///     // download from fake.endpoint …
///     XCTAssertTrue(fake.cdn.requests(withHeader: "Authorization").isEmpty)
public final class FakeHub: @unchecked Sendable {
    public let hub: LoopbackHTTPServer
    public let cdn: LoopbackHTTPServer
    private let hubRouter = Router()
    private let cdnRouter = Router()
    private let lock = NSLock()
    private var repos: [String: FakeHubRepoState] = [:]
    private var blobs: [String: FakeHubStoredFile] = [:]
    private var knownTokens: Set<String> = []
    private var _pageSize = 1000
    private var legacyAliases: [String: String] = [:]
    private var cdnHook: (@Sendable (HTTPRequest) -> Void)?

    public init() throws {
        hub = try LoopbackHTTPServer(router: hubRouter)
        cdn = try LoopbackHTTPServer(router: cdnRouter)
        let routes = FakeHubRoutes(hub: self)
        hubRouter.prefix("/api/models/") { routes.legacyRedirect($0) ?? routes.api($0) }
        hubRouter.prefix("/api/resolve-cache/models/") { routes.legacyRedirect($0) ?? routes.resolveCache($0) }
        hubRouter.prefix("/") { routes.legacyRedirect($0) ?? routes.resolve($0) }
        cdnRouter.prefix("/repos/") { routes.cdnBlob($0) }
        cdnRouter.prefix("/xet-bridge-us/") { routes.cdnBlob($0) }
    }

    public func stop() {
        hub.stop()
        cdn.stop()
    }

    /// What to pass as `baseUrl` or `HF_ENDPOINT`.
    public var endpoint: String { hub.baseURL.absoluteString }

    /// Tree entries per page (the real Hub sends 1000).
    public var pageSize: Int {
        get { lock.lock(); defer { lock.unlock() }; return _pageSize }
        set { lock.lock(); _pageSize = max(1, newValue); lock.unlock() }
    }

    // MARK: Building repos

    /// Creates a repo with one commit on `branch`; returns the commit id.
    @discardableResult
    public func addRepo(_ id: String, files: [FakeHubFile], access: FakeHubAccess = .open, branch: String = "main") -> String {
        lock.lock()
        repos[id] = FakeHubRepoState(id: id, access: access)
        switch access {
        case .open: break
        case .gated(let approved): knownTokens.formUnion(approved)
        case .restricted(let readers): knownTokens.formUnion(readers)
        }
        lock.unlock()
        return addCommit(id, files: files, branch: branch)
    }

    /// Adds a commit holding exactly `files` and points `branch` at it; returns the commit id.
    @discardableResult
    public func addCommit(_ id: String, files: [FakeHubFile], branch: String = "main") -> String {
        let stored = files.map(FakeHubStoredFile.init)
        let commit = Self.newCommitId()
        lock.lock(); defer { lock.unlock() }
        guard let repo = repos[id] else { preconditionFailure("no repo \(id)") }
        repo.commits[commit] = stored.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        repo.commitOrder.append(commit)
        repo.refs[branch] = commit
        for file in stored where file.lfs { blobs[file.sha256] = file }
        return commit
    }

    /// Adds a commit holding the same files as `commit` (so the same blobs, without hashing
    /// them again) and points `branch` at it; returns the new commit id.
    @discardableResult
    public func addCommit(_ id: String, sameFilesAs commit: String, branch: String) -> String {
        let copy = Self.newCommitId()
        lock.lock(); defer { lock.unlock() }
        guard let repo = repos[id], let files = repo.commits[commit] else { preconditionFailure("no commit \(commit) in \(id)") }
        repo.commits[copy] = files
        repo.commitOrder.append(copy)
        repo.refs[branch] = copy
        return copy
    }

    /// Points a tag, branch or `refs/pr/N` at an existing commit.
    public func setRef(_ id: String, _ name: String, to commit: String) {
        lock.lock(); defer { lock.unlock() }
        repos[id]?.refs[name] = commit
    }

    /// Deletes a tag or branch: the Hub then answers it with `RevisionNotFound`.
    public func removeRef(_ id: String, _ name: String) {
        lock.lock(); defer { lock.unlock() }
        repos[id]?.refs[name] = nil
    }

    /// Runs `hook` on the CDN's connection thread before each blob response (it may block, e.g.
    /// to hold responses until several requests are in flight).
    public func onCDNRequest(_ hook: @escaping @Sendable (HTTPRequest) -> Void) {
        lock.lock(); cdnHook = hook; lock.unlock()
    }

    func runCDNHook(_ request: HTTPRequest) {
        lock.lock(); let hook = cdnHook; lock.unlock()
        hook?(request)
    }

    /// A token the Hub accepts (besides those given in repo access lists).
    public func addToken(_ token: String) {
        lock.lock(); knownTokens.insert(token); lock.unlock()
    }

    /// A file of a repo at `revision` (default `main`), with the digests the Hub reports.
    public func file(_ repo: String, _ path: String, revision: String = "main") -> FakeHubStoredFile {
        lock.lock(); defer { lock.unlock() }
        guard let state = repos[repo], let commit = state.commit(for: revision),
              let file = state.commits[commit]?.first(where: { $0.path.isByteEqual(to: path) }) else {
            preconditionFailure("no file \(path) in \(repo)@\(revision)")
        }
        return file
    }

    /// The commit `revision` names.
    public func commit(_ repo: String, revision: String = "main") -> String? {
        lock.lock(); defer { lock.unlock() }
        return repos[repo]?.commit(for: revision)
    }

    /// The CDN path an LFS file is served from (for fault rules and byte counters).
    public func cdnPath(_ file: FakeHubStoredFile) -> String {
        viaXetBridge ? "/xet-bridge-us/\(file.sha256)" : "/repos/\(file.sha256.prefix(2))/\(file.sha256)"
    }

    /// LFS files redirect to the Xet bridge's paths (`/xet-bridge-us/…`), as Xet-backed repos do
    /// on the real Hub.
    public var lfsThroughXetBridge: Bool {
        get { viaXetBridge }
        set { lock.lock(); _viaXetBridge = newValue; lock.unlock() }
    }

    private var _viaXetBridge = false
    private var viaXetBridge: Bool { lock.lock(); defer { lock.unlock() }; return _viaXetBridge }

    /// The resolve-cache path a regular file is served from.
    public func resolveCachePath(_ repo: String, _ file: FakeHubStoredFile, revision: String = "main") -> String {
        "/api/resolve-cache/models/\(repo)/\(commit(repo, revision: revision) ?? "")/\(file.path)"
    }

    /// An owner-less legacy id (`gpt2`) that the Hub now serves under an owner
    /// (`openai-community/gpt2`): its API and file URLs answer 307 to the owner's, as the Hub does.
    public func addLegacyAlias(_ alias: String, for repoId: String) {
        lock.lock(); defer { lock.unlock() }
        legacyAliases[alias] = repoId
    }

    // MARK: State for the routes

    func legacyOwner(of alias: String) -> String? {
        lock.lock(); defer { lock.unlock() }
        return legacyAliases[alias]
    }

    func repo(_ id: String) -> FakeHubRepoState? {
        lock.lock(); defer { lock.unlock() }
        return repos[id]
    }

    func blob(_ sha256: String) -> FakeHubStoredFile? {
        lock.lock(); defer { lock.unlock() }
        return blobs[sha256]
    }

    func isKnown(_ token: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return knownTokens.contains(token)
    }

    /// A random 40-hex id; tests need unique commits, not real git objects.
    static func newCommitId() -> String {
        let hex = (UUID().uuidString + UUID().uuidString).lowercased().filter { $0 != "-" }
        return String(hex.prefix(40))
    }
}
