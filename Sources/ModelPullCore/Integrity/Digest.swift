/// The output of a hash function (SHA-256, SHA-1, git blob id), kept as raw bytes.
///
/// One type serves every hash so that verification code can compare "what the provider
/// promised" with "what we computed" without caring which algorithm produced either side.
/// Comparing digests of different lengths is simply `false`, never a crash.
public struct Digest: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Parses a hex string such as an etag or a manifest's `sha256:` value.
    ///
    /// Accepts upper- or lower-case digits (providers are not consistent), rejects anything else:
    /// empty input, an odd number of digits, whitespace, `0x`/`sha256:` prefixes. Callers strip
    /// quotes and prefixes themselves because which ones are legal depends on the provider.
    public init?(hex: String) {
        let utf8 = hex.utf8
        guard !utf8.isEmpty, utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 2)
        var high: UInt8? = nil
        for char in utf8 {
            guard let nibble = Digest.nibble(char) else { return nil }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        self.bytes = bytes
    }

    /// Lower-case hex, the form `sha256sum`, `git` and the Hugging Face API print.
    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    private static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }
}
