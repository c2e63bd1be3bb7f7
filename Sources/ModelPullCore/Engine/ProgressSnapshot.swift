import Foundation

/// One progress report for one job: what `downloads/progress` carries, minus the request id.
public struct ProgressSnapshot: Sendable, Equatable {
    public var downloadId: String
    public var status: DownloadStatus
    public var message: String
    public var percent: Double?
    public var downloadedBytes: Int64
    public var totalBytes: Int64?
    public var bytesPerSecond: Double?
    public var etaSeconds: Double?
    public var file: String?
    public var filesDone: Int?
    public var filesTotal: Int?
    /// Present on the terminal `error` and `cancelled` events only.
    public var failure: DownloadFailure?

    public init(downloadId: String, status: DownloadStatus, message: String, percent: Double? = nil,
                downloadedBytes: Int64 = 0, totalBytes: Int64? = nil, bytesPerSecond: Double? = nil,
                etaSeconds: Double? = nil, file: String? = nil, filesDone: Int? = nil,
                filesTotal: Int? = nil, failure: DownloadFailure? = nil) {
        self.downloadId = downloadId
        self.status = status
        self.message = message
        self.percent = percent
        self.downloadedBytes = downloadedBytes
        self.totalBytes = totalBytes
        self.bytesPerSecond = bytesPerSecond
        self.etaSeconds = etaSeconds
        self.file = file
        self.filesDone = filesDone
        self.filesTotal = filesTotal
        self.failure = failure
    }
}

/// What a finished download produced: the `models/download` result.
public struct DownloadResult: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        public var path: String
        public var size: Int64
        public var sha256: String?
        public init(path: String, size: Int64, sha256: String? = nil) {
            self.path = path
            self.size = size
            self.sha256 = sha256
        }
    }

    public var path: String
    public var revision: String?
    public var files: [File]
    public var bytesDownloaded: Int64
    public var bytesReused: Int64
    public var message: String?

    public init(path: String, revision: String?, files: [File], bytesDownloaded: Int64,
                bytesReused: Int64, message: String? = nil) {
        self.path = path
        self.revision = revision
        self.files = files
        self.bytesDownloaded = bytesDownloaded
        self.bytesReused = bytesReused
        self.message = message
    }
}

/// A finished job as the engine hands it to every attached request.
public struct DownloadCompletion: Sendable {
    public var downloadId: String
    public var provider: String
    public var model: String
    public var outcome: Result<DownloadResult, DownloadFailure>
    public var seconds: Double
}
