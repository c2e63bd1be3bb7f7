import Foundation

/// A file to put in a fake Hub repo: regular (stored in git, identified by its git blob id) or
/// LFS (stored on the CDN, identified by its SHA-256).
public struct FakeHubFile: Sendable {
    public var path: String
    public var data: Data
    public var lfs: Bool
    /// A size to claim in the listing and headers instead of the real one (a "huge" file for
    /// disk-space checks that must fail before any byte is served).
    public var advertisedSize: Int?

    public init(_ path: String, _ data: Data, lfs: Bool) {
        self.path = path
        self.data = data
        self.lfs = lfs
    }

    public static func text(_ path: String, _ text: String) -> FakeHubFile {
        FakeHubFile(path, Data(text.utf8), lfs: false)
    }

    public static func regular(_ path: String, _ data: Data) -> FakeHubFile {
        FakeHubFile(path, data, lfs: false)
    }

    public static func lfs(_ path: String, _ data: Data, advertisedSize: Int? = nil) -> FakeHubFile {
        var file = FakeHubFile(path, data, lfs: true)
        file.advertisedSize = advertisedSize
        return file
    }
}

/// A file as the fake Hub stores it, with the identifiers the real Hub reports, computed by
/// system tools (`git hash-object`, `sha256sum`) rather than by the code under test.
public struct FakeHubStoredFile: Sendable {
    public let path: String
    public let data: Data
    public let lfs: Bool
    public let sha256: String
    /// The git blob id of what git stores: the content, or for LFS files the pointer text.
    public let oid: String

    /// What huggingface_hub names the blob after (`X-Linked-Etag` or `ETag`).
    public var etag: String { lfs ? sha256 : oid }
    /// The size the Hub reports (normally the data's).
    public let size: Int

    init(_ file: FakeHubFile) {
        path = file.path
        data = file.data
        lfs = file.lfs
        size = file.advertisedSize ?? file.data.count
        sha256 = ExternalDigest.sha256(file.data)
        oid = ExternalDigest.gitBlobId(file.lfs ? Data(Self.pointer(sha256: sha256, size: size).utf8) : file.data)
    }

    static func pointer(sha256: String, size: Int) -> String {
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(sha256)\nsize \(size)\n"
    }

    var pointerSize: Int { Self.pointer(sha256: sha256, size: size).utf8.count }
}

/// Who may read a fake repo.
public enum FakeHubAccess: Sendable {
    case open
    /// Metadata is public; `/resolve` needs a token of an approved account.
    case gated(approved: Set<String>)
    /// Everything needs a token of a reader; without one the repo looks missing (401).
    case restricted(readers: Set<String>)
}

/// A repo: its commits (each a full file set) and the refs naming them.
final class FakeHubRepoState: @unchecked Sendable {
    let id: String
    var access: FakeHubAccess
    var commits: [String: [FakeHubStoredFile]] = [:]
    var commitOrder: [String] = []
    var refs: [String: String] = [:]

    init(id: String, access: FakeHubAccess) {
        self.id = id
        self.access = access
    }

    func commit(for revision: String) -> String? {
        if commits[revision] != nil { return revision }
        return refs[revision]
    }
}

/// Digests by external tools, independent of ModelPull's own hashing.
public enum ExternalDigest {
    public static func sha256(_ data: Data) -> String {
        #if os(macOS)
        return run(["shasum", "-a", "256"], data)
        #else
        return run(["sha256sum"], data)
        #endif
    }

    public static func gitBlobId(_ data: Data) -> String {
        run(["git", "hash-object", "--no-filters"], data)
    }

    private static func run(_ command: [String], _ data: Data) -> String {
        let path = NSTemporaryDirectory() + "fakehub-digest-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: data)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command + [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { preconditionFailure("cannot run \(command[0]): \(error)") }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let digest = String(decoding: output, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).first.map(String.init) ?? ""
        precondition(process.terminationStatus == 0 && !digest.isEmpty, "\(command[0]) failed")
        return digest
    }
}
