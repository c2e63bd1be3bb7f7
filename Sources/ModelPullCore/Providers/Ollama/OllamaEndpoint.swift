import Foundation

/// Where the Ollama server listens: the request's `baseUrl`, else `OLLAMA_HOST`, else
/// `http://127.0.0.1:11434`.
///
/// Both strings are read the way Ollama's `envconfig.Host()` reads `OLLAMA_HOST` (so whatever
/// starts `ollama serve` can be copied here as is: a bare host, `:port`, `host:port`, a URL with
/// a proxy path), then made connectable as `envconfig.ConnectableHost()` does: a server bound to
/// `0.0.0.0` or `::` is reached on loopback.
public struct OllamaEndpoint: Sendable, Equatable, CustomStringConvertible {
    public enum Source: Sendable, Equatable {
        case request, environment, fallback
    }

    public static let defaultPort = "11434"

    public var scheme: String
    /// Without brackets; may be an IPv6 literal.
    public var host: String
    public var port: String
    /// A proxy prefix without its leading "/", empty for none.
    public var path: String
    public var source: Source

    /// `scheme://host:port[/path]`, as Go's `url.URL.String()` prints it.
    public var description: String {
        let base = "\(scheme)://\(GoNetAddress.joinHostPort(host, port))"
        return path.isEmpty ? base : "\(base)/\(path)"
    }

    /// Resolves the endpoint for one request.
    public static func resolve(baseURL: String?, environment: ProcessEnvironment) -> OllamaEndpoint {
        if let baseURL, !baseURL.isEmpty { return parse(baseURL, source: .request).connectable }
        if let host = environment["OLLAMA_HOST"] { return parse(host, source: .environment).connectable }
        return parse("", source: .fallback).connectable
    }

    /// `envconfig.Host()` on `raw`, including `envconfig.Var`'s trimming of spaces and quotes.
    public static func parse(_ raw: String, source: Source = .environment) -> OllamaEndpoint {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            .trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var defaultPort = Self.defaultPort
        var scheme = "http"
        var hostport = text
        if let separator = text.range(of: "://") {
            scheme = String(text[..<separator.lowerBound])
            hostport = String(text[separator.upperBound...])
            if scheme == "http" { defaultPort = "80" } else if scheme == "https" { defaultPort = "443" }
        } else if text == "ollama.com" {
            scheme = "https"
            hostport = "ollama.com:443"
        }

        var path = ""
        if let slash = hostport.firstIndex(of: "/") {
            path = String(hostport[hostport.index(after: slash)...])
            hostport = String(hostport[..<slash])
        }

        var host: String
        var port: String
        if let split = GoNetAddress.splitHostPort(hostport) {
            (host, port) = split
        } else {
            host = "127.0.0.1"
            port = defaultPort
            if let ip = GoNetAddress.canonicalIP(hostport.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) {
                host = ip
            } else if !hostport.isEmpty {
                host = hostport
            }
        }
        if !GoNetAddress.isUsablePort(port) { port = defaultPort }
        return OllamaEndpoint(scheme: scheme, host: host, port: port, path: path, source: source)
    }

    /// The address a client can connect to: unspecified bind addresses become loopback, and an
    /// empty host (`OLLAMA_HOST=:1234`, which Go dials as the local system) becomes 127.0.0.1.
    public var connectable: OllamaEndpoint {
        var copy = self
        switch GoNetAddress.canonicalIP(host) {
        case "0.0.0.0": copy.host = "127.0.0.1"
        case "::": copy.host = "::1"
        default: if host.isEmpty { copy.host = "127.0.0.1" }
        }
        return copy
    }

    /// The URL of an API route such as `/api/pull`, under the proxy path if there is one. Nil
    /// when the endpoint cannot be an http(s) URL at all (another scheme, spaces in the host).
    public func url(_ route: String) -> URL? {
        guard scheme == "http" || scheme == "https" else { return nil }
        var prefix = path
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let base = "\(scheme)://\(GoNetAddress.joinHostPort(host, port))"
        return URL(string: base + (prefix.isEmpty ? "" : "/" + prefix) + route)
    }

    /// Where the address came from, for messages that tell people what to change.
    var origin: String {
        switch source {
        case .request: return "from `baseUrl`"
        case .environment: return "from OLLAMA_HOST"
        case .fallback: return "the default; set OLLAMA_HOST or pass `baseUrl` if it runs elsewhere"
        }
    }
}
