import Foundation

/// Where a url download's files live; see `URLProvider` for the layout.
struct URLDownloadLayout {
    let directory: String
    let fileName: String

    private var stateDirectory: String { (directory as NSString).appendingPathComponent(".modelpull") }
    var finalPath: String { (directory as NSString).appendingPathComponent(fileName) }
    var partialPath: String { (stateDirectory as NSString).appendingPathComponent("\(fileName).partial") }
    var partialRecordPath: String { partialPath + ".json" }
    var completedRecordPath: String { (stateDirectory as NSString).appendingPathComponent("\(fileName).json") }
    var lockPath: String { (stateDirectory as NSString).appendingPathComponent("\(fileName).lock") }

    func createDirectories() throws(DownloadFailure) {
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw DownloadFailure(.storage, "Cannot create \(stateDirectory): \(error.localizedDescription)", retryable: false)
        }
    }
}

/// Where a partial file's bytes came from, so a resume never splices two different files.
struct PartialRecord: Codable {
    var url: String
    var validator: String?
}

/// What a finished file is, so the next identical request reuses it without a byte of traffic.
struct CompletedRecord: Codable {
    var url: String
    var size: Int64
    var sha256: String?
}

extension Decodable where Self: Encodable {
    static func read(_ path: String) -> Self? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(Self.self, from: data)
    }

    /// Written to a temporary name and renamed, so a crash never leaves half a record.
    func write(to path: String) throws(DownloadFailure) {
        do {
            let data = try JSONEncoder().encode(self)
            let temporary = path + ".tmp"
            try data.write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else { throw StorageFailure.from(errno: errno, doing: "rename", path: path) }
        } catch let failure as DownloadFailure {
            throw failure
        } catch {
            throw DownloadFailure(.storage, "Cannot write \(path): \(error.localizedDescription)", retryable: false)
        }
    }
}
