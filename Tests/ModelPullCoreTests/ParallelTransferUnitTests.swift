import Foundation
@testable import ModelPullCore
import XCTest

/// The bookkeeping under parallel ranges: range sets, piece planning and splitting, the
/// connection budget, the ranges record, and hashing a file written out of order.
final class ParallelTransferUnitTests: XCTestCase {
    private var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "mp-parallel-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testRangeSetsMergeAndReportGapsAndPrefix() {
        var set = ByteRangeSet()
        set.insert(10..<20)
        set.insert(30..<40)
        XCTAssertEqual(set.prefixEnd, 0)
        set.insert(0..<10)
        XCTAssertEqual(set.ranges, [0..<20, 30..<40])
        XCTAssertEqual(set.prefixEnd, 20)
        XCTAssertEqual(set.gaps(upTo: 50), [20..<30, 40..<50])
        set.insert(15..<35)
        XCTAssertEqual(set.ranges, [0..<40])
        XCTAssertEqual(set.count, 40)
        XCTAssertEqual(ByteRangeSet([0..<10, 20..<30]).clamped(to: 25).ranges, [0..<10, 20..<25])
    }

    func testPlannerHandsOutBoundedPiecesLowestFirstThenSplitsTheSlowestTail() throws {
        let clock = ManualClock()
        let planner = PiecePlanner(missing: [0..<10, 20..<45], pieceSize: 10, minimumSplit: 2, minimumStealSeconds: 1,
                                   clock: { clock.now })
        let pieces = (0..<4).compactMap { _ in planner.next().piece }
        XCTAssertEqual(pieces.map { $0.start..<$0.end }, [0..<10, 20..<30, 30..<40, 40..<45])
        let file = try PartialFile(path: directory + "/p")
        _ = try [UInt8](repeating: 1, count: 4).withUnsafeBytes { try pieces[0].write($0, limit: .max, to: file) }
        // Too early to judge the others: nobody is split, but an idle connection should look again.
        clock.now = 0.5
        guard case .later = planner.next() else { return XCTFail("a split before any piece could fall behind") }
        // One second on, the pieces that received nothing count as stalled: the first of them is
        // split (the first piece, 6 left at 8 bytes/s, needs 0.75 s: not worth a split).
        clock.now = 1.0
        let stolen = try XCTUnwrap(planner.next().piece)
        XCTAssertEqual(stolen.end, 30, "from a silent piece (20..<30)")
        XCTAssertEqual(pieces[1].end, stolen.start)
        XCTAssertGreaterThanOrEqual(pieces[1].end - pieces[1].position, 2, "the victim keeps at least the minimum")
        // A write that reaches the new end takes only what still belongs to the piece.
        let taken = try [UInt8](repeating: 2, count: 100).withUnsafeBytes { try pieces[1].write($0, limit: .max, to: file) }
        XCTAssertEqual(Int64(taken), pieces[1].end - 20)
        XCTAssertTrue(pieces[1].isFinished)
        for piece in pieces + [stolen] { planner.retire(piece) }
        XCTAssertEqual(planner.writtenBytes, 4 + Int64(taken))
        guard case .none = planner.next() else { return XCTFail("nothing is left") }
    }

    /// Pieces keeping a pace that ends them within `minimumStealSeconds` are never split: the
    /// split would save less than the request and the bytes in flight past the cut cost.
    func testAPieceOnPaceIsNotSplitAndAStalledOneIs() throws {
        let clock = ManualClock()
        let planner = PiecePlanner(missing: [0..<(8 << 20)], pieceSize: 8 << 20, minimumSplit: 512 << 10,
                                   minimumStealSeconds: 1, clock: { clock.now })
        let piece = try XCTUnwrap(planner.next().piece)
        let file = try PartialFile(path: directory + "/q")
        let chunk = [UInt8](repeating: 7, count: 4 << 20)
        _ = try chunk.withUnsafeBytes { try piece.write($0, limit: .max, to: file) }
        clock.now = 0.5  // 4 MiB in 0.5 s: the other 4 MiB need another 0.5 s
        guard case .later = planner.next() else { return XCTFail("a piece on pace was split") }
        clock.now = 5  // the same bytes after 5 s: 4 MiB at 0.8 MiB/s need 5 s more
        let stolen = try XCTUnwrap(planner.next().piece)
        XCTAssertEqual(stolen.end, 8 << 20)
        XCTAssertEqual(piece.end, stolen.start)
    }

    func testTheBudgetServesWaitersInOrderAndForgetsCancelledOnes() async throws {
        let budget = ConnectionBudget(capacity: 1)
        try await budget.acquire()
        let order = OrderRecorder()
        let cancelled = Task { try await budget.acquire(); order.add("cancelled one got a slot") }
        while budget.waitingCount < 1 { await Task.yield() }
        let second = Task { try await budget.acquire(); order.add("second") }
        while budget.waitingCount < 2 { await Task.yield() }
        cancelled.cancel()
        await XCTAssertThrowsAsync(try await cancelled.value)
        budget.release()
        try await second.value
        XCTAssertEqual(order.items, ["second"])
        budget.release()
        XCTAssertEqual(budget.freeSlots, 1)
    }

    /// Two downloads hold the whole budget; a third arrives. The one holding most is asked to
    /// yield (the others are not), a freed slot goes to the newcomer although the hog queued
    /// first, and once the split is within one slot nobody is asked to yield any more.
    func testTheBudgetIsSplitFairlyBetweenDownloads() async throws {
        let budget = ConnectionBudget(capacity: 4)
        let hog = ConnectionBudget.Owner("hog"), other = ConnectionBudget.Owner("other")
        let newcomer = ConnectionBudget.Owner("newcomer")
        for _ in 0..<3 { try await budget.acquire(for: hog) }
        try await budget.acquire(for: other)
        XCTAssertFalse(budget.shouldYield(hog), "nobody waits: keep every connection")

        let order = OrderRecorder()
        let hogAgain = Task { try await budget.acquire(for: hog); order.add("hog") }
        while budget.waitingCount < 1 { await Task.yield() }
        let late = Task { try await budget.acquire(for: newcomer); order.add("newcomer") }
        while budget.waitingCount < 2 { await Task.yield() }
        XCTAssertTrue(budget.shouldYield(hog), "3 slots while a download with none waits")
        XCTAssertFalse(budget.shouldYield(other), "1 slot: within one of the newcomer's 0")
        XCTAssertFalse(budget.shouldYield(newcomer), "holds nothing")

        budget.release(for: hog)
        try await late.value
        XCTAssertEqual(order.items, ["newcomer"], "the freed slot goes to the download holding fewest, not the first in line")
        XCTAssertEqual([hog, other, newcomer].map { budget.slots(heldBy: $0) }, [2, 1, 1])
        XCTAssertFalse(budget.shouldYield(hog), "2 against the waiting hog itself: no one else waits")

        budget.release(for: other)
        try await hogAgain.value
        XCTAssertEqual([hog, other, newcomer].map { budget.slots(heldBy: $0) }, [3, 0, 1])
        for _ in 0..<3 { budget.release(for: hog) }
        budget.release(for: newcomer)
        XCTAssertEqual(budget.freeSlots, 4)
    }

    func testTheRangesRecordIsRewrittenInPlaceAndAnUnreadableOneProvesNothing() throws {
        let partial = directory + "/m.partial"
        _ = FileManager.default.createFile(atPath: partial, contents: Data(count: 100))
        XCTAssertEqual(RangeRecord.load(partialPath: partial), .none)
        XCTAssertEqual(RangeRecord.finishedBytes(partialPath: partial, expectedSize: 200), 100, "no record: written in order")
        var record = RangeRecord(size: 200, validator: "\"v1\"", done: ByteRangeSet([50..<100]))
        try record.store(partialPath: partial)
        let slot = try FileManager.default.attributesOfItem(atPath: RangeRecord.sidecarPath(for: partial))[.size] as? Int
        record.done.insert(150..<200)
        try record.store(partialPath: partial)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: RangeRecord.sidecarPath(for: partial))[.size] as? Int, slot,
                       "rewritten in place, never grown")
        XCTAssertEqual(RangeRecord.load(partialPath: partial), .valid(record))
        XCTAssertEqual(RangeRecord.finishedBytes(partialPath: partial, expectedSize: 200), 100)
        XCTAssertEqual(RangeRecord.finishedBytes(partialPath: partial, expectedSize: 300), 0, "another size: nothing is ours")
        try Data("{\"size\": 2".utf8).write(to: URL(fileURLWithPath: RangeRecord.sidecarPath(for: partial)))
        XCTAssertEqual(RangeRecord.load(partialPath: partial), .unreadable)
        XCTAssertEqual(RangeRecord.finishedBytes(partialPath: partial, expectedSize: 200), 0)
    }

    func testTheFrontierHasherHashesAFileWrittenOutOfOrder() async throws {
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let file = try PartialFile(path: directory + "/h")
        let hasher = FrontierHasher(file: file, algorithm: .sha256)
        let ranges: [Range<Int>] = [2_000_000..<3_000_000, 0..<1_000_000, 1_000_000..<2_000_000]
        var done = ByteRangeSet()
        for range in ranges {
            try bytes[range].withUnsafeBytes { try file.write($0, at: Int64(range.lowerBound)) }
            done.insert(Int64(range.lowerBound)..<Int64(range.upperBound))
            hasher.advance(to: done.prefixEnd)
        }
        let digest = try await hasher.finish(size: Int64(bytes.count))
        var reference = SHA256()
        reference.update(bytes)
        XCTAssertEqual(digest, reference.finalize())
    }
}

private final class OrderRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ item: String) { lock.lock(); list.append(item); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}

private func XCTAssertThrowsAsync<T>(_ expression: @autoclosure () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async {
    do {
        _ = try await expression()
        XCTFail("expected an error", file: file, line: line)
    } catch {}
}

/// A clock a test moves by hand.
private final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Double = 0
    var now: Double {
        get { lock.lock(); defer { lock.unlock() }; return value }
        set { lock.lock(); value = newValue; lock.unlock() }
    }
}

extension PiecePlanner.Assignment {
    var piece: PieceCursor? {
        if case .piece(let cursor) = self { return cursor }
        return nil
    }
}
