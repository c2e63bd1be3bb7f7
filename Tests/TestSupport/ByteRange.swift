import Foundation

/// A single `Range: bytes=...` request (RFC 9110 §14.1.2). Multi-range requests are treated
/// as no range at all (the RFC allows ignoring Range), which keeps StaticFile single-part.
public enum ByteRange: Sendable, Equatable {
    /// `bytes=first-last` or, with `last` nil, `bytes=first-`.
    case from(Int, through: Int?)
    /// `bytes=-n`: the final n bytes.
    case suffix(Int)

    /// Parses a Range header value; nil when it is absent, malformed, multi-range, or not in
    /// bytes (all of which mean "ignore the header and send the whole body").
    public init?(header: String?) {
        guard let header else { return nil }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes=") else { return nil }
        let spec = trimmed.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let startText = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let endText = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if startText.isEmpty {
            guard let count = Self.number(endText) else { return nil }
            self = .suffix(count)
        } else {
            guard let first = Self.number(startText) else { return nil }
            if endText.isEmpty {
                self = .from(first, through: nil)
            } else {
                guard let last = Self.number(endText), last >= first else { return nil }
                self = .from(first, through: last)
            }
        }
    }

    /// The byte offsets to send for a body of `total` bytes, or nil if unsatisfiable (→ 416).
    public func resolve(total: Int) -> ClosedRange<Int>? {
        switch self {
        case .from(let first, let last):
            guard first < total else { return nil }
            return first...min(last ?? (total - 1), total - 1)
        case .suffix(let count):
            guard count > 0, total > 0 else { return nil }
            return max(0, total - count)...(total - 1)
        }
    }

    private static func number(_ text: String) -> Int? {
        guard !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) else { return nil }
        return Int(text)
    }
}
