import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a url download's files live; see `URLProvider` for the layout.
struct URLDownloadLayout {
    let directory: String
    let fileName: String

    static let stateFolderName = ".modelpull"

    var stateDirectory: String { (directory as NSString).appendingPathComponent(Self.stateFolderName) }
    var finalPath: String { (directory as NSString).appendingPathComponent(fileName) }
    var partialPath: String { (stateDirectory as NSString).appendingPathComponent("\(fileName).partial") }
    var partialRecordPath: String { partialPath + ".json" }
    var completedRecordPath: String { (stateDirectory as NSString).appendingPathComponent("\(fileName).json") }
    var lockPath: String { (stateDirectory as NSString).appendingPathComponent("\(fileName).lock") }

    /// Creates the destination and the state folder, returning the folders that did not exist
    /// before (deepest last), so a download that ends with nothing to keep can remove them.
    /// A state folder that is a symbolic link is refused: through it, partial files and records
    /// would be written wherever it points (a planted link in a shared folder).
    func createDirectories() throws(DownloadFailure) -> [String] {
        var created: [String] = []
        var missing: [String] = []
        var path = (directory as NSString).standardizingPath
        while !path.isEmpty, path != "/", !FileManager.default.fileExists(atPath: path) {
            missing.insert(path, at: 0)
            path = (path as NSString).deletingLastPathComponent
        }
        for folder in missing + [stateDirectory] {
            if mkdir(folder, 0o755) == 0 {
                created.append(folder)
            } else if errno != EEXIST {
                throw StorageFailure.from(errno: errno, doing: "create the folder", path: folder)
            }
        }
        var info = stat()
        guard lstat(stateDirectory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DownloadFailure(.storage,
                "\(stateDirectory) is not a folder (a symbolic link or a file is in its place); ModelPull keeps its partial files there and will not follow it. Remove it and retry.",
                retryable: false)
        }
        return created
    }
}

/// Where a partial file's bytes came from, written before the first of them, so a resume never
/// splices two versions of a file: the next run resumes only from the same URL, and only on
/// the condition (`If-Range`) that the server's file still has this strong validator.
struct PartialRecord: Codable, Equatable {
    /// The URL as shown to people (credentials masked); `source` is what is compared.
    var url: String
    var source: String
    /// A strong ETag, or Last-Modified; nil when the server gave neither, and then the partial
    /// cannot be resumed by a later run.
    var validator: String?
    /// The file's size as the server gave it; another size later means another version, even
    /// under the same validator (a server that reuses ETags).
    var size: Int64?
}

/// What a finished file is, written only once its bytes are in place, so the next identical
/// request reuses it without a byte of traffic. `file` pins the record to those bytes: a file
/// renamed over them, or changed since, no longer matches and is downloaded again.
struct CompletedRecord: Codable {
    var url: String
    var source: String
    var size: Int64
    var sha256: String?
    var file: FileIdentity
}

extension Decodable where Self: Encodable {
    /// Nil when missing, unreadable or of an older shape (which then proves nothing).
    static func read(_ path: String) -> Self? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(Self.self, from: data)
    }

    func write(to path: String) throws(DownloadFailure) {
        let data: Data
        do {
            data = try JSONEncoder().encode(self)
        } catch {
            throw DownloadFailure(.storage, "Cannot encode a record for \(path): \(error)", retryable: false)
        }
        try AtomicFile.write(data, to: path)
    }
}
