import Foundation

/// A non-2xx answer that retrying did not cure. Providers turn it into a `DownloadFailure`
/// with their own vocabulary (the Hub's `X-Error-Code`, Ollama's JSON error).
public struct HTTPStatusError: Error, Sendable {
    public var head: HTTPResponseHead
    public var body: Data
}
