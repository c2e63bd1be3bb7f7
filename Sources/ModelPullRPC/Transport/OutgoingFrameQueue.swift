/// FIFO of message bodies waiting for the output thread, with optional coalescing.
///
/// A body sent with a coalescing key (say "progress:<jobID>") replaces a queued, not yet
/// written body with the same key in its place, so a client that reads slowly receives the
/// latest progress instead of a backlog of stale ones. Bodies without a key are never merged.
struct OutgoingFrameQueue {
    private struct Entry {
        var body: [UInt8]
        let coalescingKey: String?
    }

    private var entries: [Entry] = []
    /// Entries before `head` were handed out; they are reclaimed in bulk.
    private var head = 0
    /// Position in `entries` of the queued entry holding each coalescing key.
    private var positionsByKey: [String: Int] = [:]

    /// Sum of queued body sizes (excluding bodies already handed out).
    private(set) var byteCount = 0

    var isEmpty: Bool { head == entries.count }
    var count: Int { entries.count - head }

    /// The change in `byteCount` that enqueuing this body would cause.
    func byteDelta(for body: [UInt8], coalescingKey: String?) -> Int {
        if let key = coalescingKey, let position = positionsByKey[key] {
            return body.count - entries[position].body.count
        }
        return body.count
    }

    mutating func enqueue(_ body: [UInt8], coalescingKey: String?) {
        byteCount += byteDelta(for: body, coalescingKey: coalescingKey)
        if let key = coalescingKey, let position = positionsByKey[key] {
            entries[position].body = body
            return
        }
        if let key = coalescingKey { positionsByKey[key] = entries.count }
        entries.append(Entry(body: body, coalescingKey: coalescingKey))
    }

    mutating func popFirst() -> [UInt8]? {
        guard head < entries.count else { return nil }
        let entry = entries[head]
        entries[head].body = []  // release the bytes now, not at the next compaction
        if let key = entry.coalescingKey, positionsByKey[key] == head { positionsByKey[key] = nil }
        head += 1
        byteCount -= entry.body.count
        compactIfWorthwhile()
        return entry.body
    }

    mutating func removeAll() {
        entries.removeAll()
        positionsByKey.removeAll()
        head = 0
        byteCount = 0
    }

    /// Amortized O(1): only moves the live tail once at least half the array is dead.
    private mutating func compactIfWorthwhile() {
        if head == entries.count {
            entries.removeAll(keepingCapacity: entries.capacity <= 1024)
        } else if head >= 64 && head * 2 >= entries.count {
            entries.removeSubrange(0..<head)
            for (key, position) in positionsByKey { positionsByKey[key] = position - head }
        } else {
            return
        }
        head = 0
    }
}
