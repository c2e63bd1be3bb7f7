import Foundation

/// Why a whole body replaced the bytes kept on disk.
enum WholeBodyRestart {
    /// The server answered a range with the whole file: it cannot resume.
    case rangesIgnored
    /// The validator changed (`If-Range` failed): another version of the file.
    case remoteChanged

    func message(_ name: String) -> String {
        switch self {
        case .rangesIgnored:
            return "The server does not support resuming \(name) (it answered a range request with the whole file); downloading it from the start"
        case .remoteChanged:
            return "\(name) changed on the server; downloading the new version from the start"
        }
    }
}
