import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The proxy variables as curl, Python (`urllib.getproxies`, httpx) and most tools read them,
/// decided once per request URL by ModelPull itself, so that both transfer engines and every
/// request (API calls, CDN redirects, Ollama) go the same way:
///
/// - `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy`/`HTTP_PROXY` for http ones, else
///   `all_proxy`/`ALL_PROXY`; the lower-case spelling wins when both are set. A value without a
///   scheme is an http proxy (`proxy:3128`); `socks5://`, `socks5h://`, `https://` are kept.
/// - `no_proxy`/`NO_PROXY`: comma- or space-separated; `*` bypasses every host; `example.com`
///   and `.example.com` match the domain and every subdomain; `host:port` only that port; IP
///   literals match exactly.
public struct ProxyEnvironment: Sendable, Equatable {
    /// A proxy to use: its URL (credentials included, for libcurl only) and where it came from.
    public struct Proxy: Sendable, Equatable {
        public var url: String
        public var variable: String

        /// The proxy as messages name it: no user, no password.
        public var display: String {
            guard var components = URLComponents(string: url) else { return "the proxy in \(variable)" }
            components.user = nil
            components.password = nil
            return (components.string ?? url) + " (from \(variable))"
        }
    }

    var https: Proxy?
    var http: Proxy?
    var all: Proxy?
    var bypass: [String]

    public static let none = ProxyEnvironment(https: nil, http: nil, all: nil, bypass: [])

    public init(_ environment: ProcessEnvironment) {
        func read(_ name: String) -> Proxy? {
            for variable in [name.lowercased(), name.uppercased()] {
                if let value = environment[variable]?.trimmingCharacters(in: .whitespaces), !value.isEmpty {
                    return Proxy(url: value.contains("://") ? value : "http://" + value, variable: variable)
                }
            }
            return nil
        }
        https = read("https_proxy")
        http = read("http_proxy")
        all = read("all_proxy")
        let list = environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
        bypass = list.split(whereSeparator: { $0 == "," || $0 == " " }).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
    }

    init(https: Proxy?, http: Proxy?, all: Proxy?, bypass: [String]) {
        (self.https, self.http, self.all, self.bypass) = (https, http, all, bypass)
    }

    public var isEmpty: Bool { https == nil && http == nil && all == nil }

    /// For the URLSession engine, which leaves proxies to FoundationNetworking's libcurl, which
    /// reads only the lower-case spellings (and `HTTP_PROXY` never): gives this process the
    /// lower-case variables the upper-case ones imply, so both engines use the same proxies
    /// (libcurl's own `no_proxy` rules then apply: no ports). Call once, before any request.
    public static func exportLowerCaseSpellings(from environment: ProcessEnvironment) {
        for name in ["https_proxy", "http_proxy", "all_proxy", "no_proxy"] where environment[name] == nil {
            if let value = environment[name.uppercased()] { setenv(name, value, 1) }
        }
    }

    /// The proxy for `url`, or nil to connect directly.
    public func proxy(for url: URL) -> Proxy? {
        let scheme = url.scheme?.lowercased()
        guard let chosen = (scheme == "https" ? https : scheme == "http" ? http : nil) ?? all else { return nil }
        guard let host = url.host?.lowercased() else { return chosen }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return bypasses(host: host, port: port) ? nil : chosen
    }

    func bypasses(host rawHost: String, port: Int) -> Bool {
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        for entry in bypass {
            if entry == "*" { return true }
            var pattern = entry
            if let portText = Self.port(of: &pattern) {
                guard portText == port else { continue }
            }
            pattern = pattern.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            while pattern.hasPrefix("*") || pattern.hasPrefix(".") { pattern.removeFirst() }
            if pattern.isEmpty { continue }
            if host == pattern || host.hasSuffix("." + pattern) { return true }
        }
        return false
    }

    /// Splits `host:port` (or `[v6]:port`) in place; nil when the entry names no port.
    private static func port(of entry: inout String) -> Int? {
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { return nil }
            let rest = entry[entry.index(after: close)...]
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()) else { return nil }
            entry = String(entry[...close])
            return port
        }
        // A bare IPv6 literal has several colons and no port.
        guard entry.filter({ $0 == ":" }).count == 1, let colon = entry.firstIndex(of: ":"),
              let port = Int(entry[entry.index(after: colon)...]) else { return nil }
        entry = String(entry[..<colon])
        return port
    }
}

/// Keeps a proxy's credentials out of text that may be shown (libcurl's messages, ours).
enum ProxyText {
    static func scrub(_ text: String, proxy: ProxyEnvironment.Proxy) -> String {
        guard let components = URLComponents(string: proxy.url) else { return text }
        let secrets = [components.percentEncodedPassword, components.password, components.percentEncodedUser, components.user]
            .compactMap { $0 }.filter { $0.count >= 3 }
        return secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }
}
