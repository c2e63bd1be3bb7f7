import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The pieces of Go's `net` package that Ollama's `OLLAMA_HOST` parsing leans on, with Go's
/// edge cases, so a value means here exactly what it means to `ollama` itself.
enum GoNetAddress {
    /// `net.SplitHostPort`: nil where Go returns an error (no port, too many colons, stray
    /// brackets). The port may be empty ("host:").
    static func splitHostPort(_ hostport: String) -> (host: String, port: String)? {
        let bytes = Array(hostport.utf8)
        let colon = UInt8(ascii: ":"), open = UInt8(ascii: "["), close = UInt8(ascii: "]")
        guard let lastColon = bytes.lastIndex(of: colon) else { return nil }
        var host: ArraySlice<UInt8>
        var noOpenFrom = 0, noCloseFrom = 0
        if bytes.first == open {
            // The first ']' must come right before the last ':'.
            guard let end = bytes.firstIndex(of: close), end + 1 == lastColon else { return nil }
            host = bytes[1..<end]
            noOpenFrom = 1
            noCloseFrom = end + 1
        } else {
            host = bytes[..<lastColon]
            if host.contains(colon) { return nil }
        }
        if bytes[noOpenFrom...].contains(open) || bytes[noCloseFrom...].contains(close) { return nil }
        return (String(decoding: host, as: UTF8.self), String(decoding: bytes[(lastColon + 1)...], as: UTF8.self))
    }

    /// `net.ParseIP(s).String()`: the canonical text of an IPv4 or IPv6 literal (IPv4-mapped
    /// IPv6 prints as dotted IPv4, as Go does), nil when `s` is neither. Zones are refused, as
    /// Go's ParseIP refuses them.
    static func canonicalIP(_ text: String) -> String? {
        var v4 = in_addr()
        if text.withCString({ inet_pton(AF_INET, $0, &v4) }) == 1 {
            return withUnsafePointer(to: v4) { format(family: AF_INET, UnsafeRawPointer($0), capacity: Int(INET_ADDRSTRLEN)) }
        }
        var v6 = in6_addr()
        guard text.withCString({ inet_pton(AF_INET6, $0, &v6) }) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        return withUnsafePointer(to: v6) { format(family: AF_INET6, UnsafeRawPointer($0), capacity: Int(INET6_ADDRSTRLEN)) }
    }

    /// `net.JoinHostPort`: brackets a host that contains a colon (IPv6).
    static func joinHostPort(_ host: String, _ port: String) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// `strconv.ParseInt(port, 10, 32)` followed by Ollama's 0…65535 range check.
    static func isUsablePort(_ port: String) -> Bool {
        // Swift's integer parsing accepts exactly what ParseInt base 10 does: an optional sign
        // and ASCII digits, nothing else (no spaces, no underscores).
        guard let value = Int64(port) else { return false }
        return value >= 0 && value <= 65535
    }

    private static func format(family: Int32, _ address: UnsafeRawPointer, capacity: Int) -> String? {
        var buffer = [CChar](repeating: 0, count: capacity)
        guard inet_ntop(family, address, &buffer, socklen_t(capacity)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
