/// Disjoint, sorted, half-open byte ranges: the parts of a file that are on disk. Adjacent and
/// overlapping ranges merge, so a file downloaded in any order ends as one range `0..<size`.
public struct ByteRangeSet: Sendable, Equatable, Codable {
    public private(set) var ranges: [Range<Int64>] = []

    public init() {}

    public init<S: Sequence>(_ ranges: S) where S.Element == Range<Int64> {
        for range in ranges { insert(range) }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Total bytes covered.
    public var count: Int64 { ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) } }

    /// Where the contiguous run from byte 0 ends: everything before it is on disk, so it can be
    /// hashed in order.
    public var prefixEnd: Int64 {
        guard let first = ranges.first, first.lowerBound == 0 else { return 0 }
        return first.upperBound
    }

    public mutating func insert(_ range: Range<Int64>) {
        guard !range.isEmpty else { return }
        // Few ranges in practice (pieces merge as they land), so a linear pass is the clear choice.
        var lower = range.lowerBound
        var upper = range.upperBound
        var merged: [Range<Int64>] = []
        merged.reserveCapacity(ranges.count + 1)
        var placed = false
        for existing in ranges {
            if existing.upperBound < lower {
                merged.append(existing)
            } else if existing.lowerBound > upper {
                if !placed { merged.append(lower..<upper); placed = true }
                merged.append(existing)
            } else {
                lower = min(lower, existing.lowerBound)
                upper = max(upper, existing.upperBound)
            }
        }
        if !placed { merged.append(lower..<upper) }
        ranges = merged
    }

    /// The parts of `0..<size` not covered: what is left to download.
    public func gaps(upTo size: Int64) -> [Range<Int64>] {
        var result: [Range<Int64>] = []
        var cursor: Int64 = 0
        for range in ranges where range.lowerBound < size {
            if range.lowerBound > cursor { result.append(cursor..<range.lowerBound) }
            cursor = max(cursor, range.upperBound)
        }
        if cursor < size { result.append(cursor..<size) }
        return result
    }

    /// The same ranges cut to `0..<size` (a record that claims bytes past the end is wrong there).
    public func clamped(to size: Int64) -> ByteRangeSet {
        ByteRangeSet(ranges.compactMap { range in
            let upper = min(range.upperBound, size)
            return range.lowerBound < upper ? range.lowerBound..<upper : nil
        })
    }
}
