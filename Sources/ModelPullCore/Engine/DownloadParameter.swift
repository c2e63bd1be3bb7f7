/// A `models/download` parameter besides `provider` and `model`, spelled as on the wire. Each
/// provider declares the ones it reads (`Provider.parameters`); front-ends describe them from
/// that declaration rather than from a list of their own.
public enum DownloadParameter: String, CaseIterable, Sendable, Hashable {
    case revision, include, exclude, token, baseUrl, cacheDir, localDir, connections, sha256, fileName,
         stallSeconds, insecure, source

    /// Whether `request` gives this parameter a value (`insecure: false` is the default, no value).
    public func isSet(in request: DownloadRequest) -> Bool {
        switch self {
        case .revision: request.revision != nil
        case .include: !request.include.isEmpty
        case .exclude: !request.exclude.isEmpty
        case .token: request.token != nil
        case .baseUrl: request.baseURL != nil
        case .cacheDir: request.cacheDir != nil
        case .localDir: request.localDir != nil
        case .connections: request.connections != nil
        case .sha256: request.sha256 != nil
        case .fileName: request.fileName != nil
        case .stallSeconds: request.stallSeconds != nil
        case .insecure: request.insecure
        case .source: request.source != nil
        }
    }
}
