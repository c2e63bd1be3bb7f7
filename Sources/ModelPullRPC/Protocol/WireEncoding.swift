import Foundation
import ModelPullCore

/// Engine values in their v1 wire shape (see schema/v1). Optional fields are omitted when
/// unknown, never sent as null.
public enum WireEncoding {
    static func progress(_ snapshot: ProgressSnapshot, requestId: RequestID) -> JSONValue {
        var object: JSONObject = [
            "downloadId": .string(snapshot.downloadId),
            "requestId": requestId.json,
            "status": .string(snapshot.status.rawValue),
            "message": .string(snapshot.message),
        ]
        if let percent = snapshot.percent { object["percent"] = .double(percentFigure(percent)) }
        object["downloadedBytes"] = .integer(snapshot.downloadedBytes)
        if let total = snapshot.totalBytes { object["totalBytes"] = .integer(total) }
        if let speed = snapshot.bytesPerSecond { object["bytesPerSecond"] = .double(rounded(speed, places: 0)) }
        if let eta = snapshot.etaSeconds { object["etaSeconds"] = .double(rounded(eta, places: 1)) }
        if let file = snapshot.file { object["file"] = .string(file) }
        if let done = snapshot.filesDone { object["filesDone"] = .integer(Int64(done)) }
        if let total = snapshot.filesTotal { object["filesTotal"] = .integer(Int64(total)) }
        if let failure = snapshot.failure {
            object["error"] = errorData(failure, downloadId: snapshot.downloadId, provider: nil, model: nil)
        }
        return .object(object)
    }

    public static func result(_ completion: DownloadCompletion, _ result: DownloadResult) -> JSONValue {
        var object: JSONObject = [
            "downloadId": .string(completion.downloadId),
            "status": "complete",
            "provider": .string(completion.provider),
            "model": .string(completion.model),
            "path": .string(result.path),
            "revision": result.revision.map(JSONValue.string) ?? .null,
            "files": .array(result.files.map(file)),
            "bytesDownloaded": .integer(result.bytesDownloaded),
            "bytesReused": .integer(result.bytesReused),
            "seconds": .double(rounded(completion.seconds, places: 3)),
        ]
        if let message = result.message { object["message"] = .string(message) }
        return .object(object)
    }

    static func errorData(_ failure: DownloadFailure, downloadId: String?, provider: String?, model: String?) -> JSONValue {
        var object: JSONObject = [
            "kind": .string(failure.kind.rawValue),
            "retryable": .bool(failure.retryable),
        ]
        if let downloadId {
            object["downloadId"] = .string(downloadId)
            object["status"] = .string(failure.kind == .cancelled ? "cancelled" : "error")
        }
        if let provider { object["provider"] = .string(provider) }
        if let model { object["model"] = .string(model) }
        if let after = failure.retryAfterSeconds { object["retryAfterSeconds"] = .double(after) }
        if !failure.details.isEmpty {
            var details = JSONObject()
            for key in failure.details.keys.sorted() {
                details[key] = detail(failure.details[key]!)
            }
            object["details"] = .object(details)
        }
        return .object(object)
    }

    static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    private static func file(_ file: DownloadResult.File) -> JSONValue {
        var object: JSONObject = ["path": .string(file.path), "size": .integer(file.size)]
        if let sha = file.sha256 { object["sha256"] = .string(sha) }
        return .object(object)
    }

    static func detail(_ value: DownloadFailure.DetailValue) -> JSONValue {
        switch value {
        case .string(let text): return .string(text)
        case .int(let number): return .integer(number)
        case .bool(let flag): return .bool(flag)
        case .strings(let list): return .array(list.map(JSONValue.string))
        }
    }

    /// Two decimals, rounded down: 99.9993 % of bytes is not yet 100 %, and must not say so.
    static func percentFigure(_ percent: Double) -> Double {
        (percent * 100).rounded(.down) / 100
    }

    private static func rounded(_ value: Double, places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (value * scale).rounded() / scale
    }

    /// One `models/list` entry.
    public static func localModel(_ model: LocalModel) -> JSONValue {
        var object: JSONObject = [
            "provider": .string(model.provider),
            "model": .string(model.model),
        ]
        if let path = model.path { object["path"] = .string(path) }
        object["sizeBytes"] = .integer(model.sizeBytes)
        object["complete"] = .bool(model.complete)
        if let revisions = model.revisions {
            object["revisions"] = .array(revisions.map { revision in
                var entry: JSONObject = [:]
                if let name = revision.revision { entry["revision"] = .string(name) }
                entry["commit"] = .string(revision.commit)
                entry["files"] = .integer(Int64(revision.files))
                entry["sizeBytes"] = .integer(revision.sizeBytes)
                return .object(entry)
            })
        }
        if let digest = model.digest { object["digest"] = .string(digest) }
        if let modified = model.modifiedAt { object["modifiedAt"] = .string(iso8601(modified)) }
        if !model.details.isEmpty {
            var details = JSONObject()
            for key in model.details.keys.sorted() { details[key] = detail(model.details[key]!) }
            object["details"] = .object(details)
        }
        return .object(object)
    }

    /// One `providers/list` entry.
    public static func provider(name: String, summary: String, availability: ProviderAvailability) -> JSONValue {
        var entry: JSONObject = ["name": .string(name), "available": .bool(availability.available),
                                 "description": .string(summary)]
        if let reason = availability.reason { entry["reason"] = .string(reason) }
        if let version = availability.version { entry["version"] = .string(version) }
        if let baseURL = availability.baseURL { entry["baseUrl"] = .string(baseURL) }
        return .object(entry)
    }
}
