/// A parsed `Content-Range: bytes first-last/total` header.
struct ContentRange: Equatable {
    var first: Int64
    var last: Int64
    /// Nil when the server sent `*` (length unknown).
    var total: Int64?

    init?(_ header: String?) {
        guard let header = header?.trimmingCharacters(in: .whitespaces), header.lowercased().hasPrefix("bytes ") else {
            return nil
        }
        let spec = header.dropFirst(6)
        let halves = spec.split(separator: "/", maxSplits: 1)
        guard halves.count == 2 else { return nil }
        let bounds = halves[0].split(separator: "-")
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), first <= last else {
            return nil
        }
        self.first = first
        self.last = last
        total = halves[1] == "*" ? nil : Int64(halves[1])
    }

    /// The total from an unsatisfiable-range reply: `bytes */total`.
    static func unsatisfiedTotal(_ header: String?) -> Int64? {
        guard let header, let slash = header.lastIndex(of: "/") else { return nil }
        return Int64(header[header.index(after: slash)...].trimmingCharacters(in: .whitespaces))
    }
}

import Foundation
