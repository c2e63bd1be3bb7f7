/// A `models/download` parameter besides `provider` and `model`, spelled as on the wire. Each
/// provider declares the ones it reads (`Provider.parameters`); front-ends describe them from
/// that declaration rather than from a list of their own.
public enum DownloadParameter: String, CaseIterable, Sendable, Hashable {
    case revision, include, exclude, token, baseUrl, cacheDir, localDir, connections, sha256, fileName,
         stallSeconds, insecure

}
