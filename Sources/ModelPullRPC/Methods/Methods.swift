/// The method table: every request the server answers, by name.
enum Methods {
    typealias Handler = @Sendable (RPCServer, RequestID, JSONValue?) async throws -> JSONValue

    static let table: [String: Handler] = [
        "hello": HelloMethod.handle,
        "models/download": ModelsDownloadMethod.handle,
        "downloads/list": DownloadsListMethod.handle,
        "downloads/cancel": DownloadsCancelMethod.handle,
        "models/list": ModelsListMethod.handle,
        "models/delete": ModelsDeleteMethod.handle,
        "providers/list": ProvidersListMethod.handle,
        "rpc.discover": DiscoverMethod.handle,
        "shutdown": ShutdownMethod.handle,
    ]

    /// Names for `hello`'s capabilities, sorted for stable output.
    static var names: [String] { table.keys.sorted() }

    static func handler(for method: String) -> Handler? {
        table[method]
    }
}
