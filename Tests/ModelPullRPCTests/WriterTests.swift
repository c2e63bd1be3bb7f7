import Foundation
import XCTest
@testable import ModelPullRPC
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pipe(2) for transport tests; each end is closed at most once.
final class TransportTestPipe: @unchecked Sendable {
    let readFD: Int32
    let writeFD: Int32
    private let lock = NSLock()
    private var readClosed = false
    private var writeClosed = false

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        closeRead()
        closeWrite()
    }

    func closeRead() {
        lock.lock()
        defer { lock.unlock() }
        if !readClosed { readClosed = true; close(readFD) }
    }

    func closeWrite() {
        lock.lock()
        defer { lock.unlock() }
        if !writeClosed { writeClosed = true; close(writeFD) }
    }

    func write(_ bytes: [UInt8]) {
        XCTAssertNil(FileDescriptorIO.writeAll(writeFD, bytes))
    }

    /// True if the read end has data within `timeout` seconds.
    func hasData(within timeout: TimeInterval) -> Bool {
        var descriptor = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, Int32(timeout * 1000)) > 0
    }

    /// Reads on a background thread until end of file; `wait` returns everything read.
    func startReadingToEnd() -> TransportTestRecorder<[UInt8]> {
        let result = TransportTestRecorder<[UInt8]>()
        let fd = readFD
        Thread {
            var collected: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while case .bytes(let count) = chunk.withUnsafeMutableBytes({ FileDescriptorIO.read(fd, into: $0) }) {
                collected.append(contentsOf: chunk[0..<count])
            }
            result.append(collected)
        }.start()
        return result
    }
}

/// Collects values from callbacks on other threads and lets the test wait for them.
final class TransportTestRecorder<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var recorded: [Value] = []

    var values: [Value] {
        condition.lock()
        defer { condition.unlock() }
        return recorded
    }

    func append(_ value: Value) {
        condition.lock()
        recorded.append(value)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until at least `count` values arrived; returns them (possibly fewer on timeout).
    @discardableResult
    func wait(count: Int = 1, timeout: TimeInterval = 10) -> [Value] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while recorded.count < count && condition.wait(until: deadline) {}
        return recorded
    }
}

final class WriterTests: XCTestCase {
    override func setUp() {
        StdoutGuard.ignoreBrokenPipeSignal()
    }

    private func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map(Array.init)
    }

    private func lspBodies(_ bytes: [UInt8]) -> [FramerEvent] {
        var framer = MessageFramer(choice: .lsp)
        framer.append(bytes)
        framer.finish()
        var events: [FramerEvent] = []
        while let event = framer.nextEvent() { events.append(event) }
        return events
    }

    func testConcurrentSendersProduceWholeFramesInPerThreadOrder() throws {
        for framing in Framing.allCases {
            let pipe = try TransportTestPipe()
            let output = pipe.startReadingToEnd()
            let writer = OutputWriter(fd: pipe.writeFD, framing: framing)
            let threads = 8, perThread = 300
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for sequence in 0..<perThread {
                    // Some frames exceed the pipe buffer, forcing partial writes mid-frame.
                    let padding = sequence % 40 == 0 ? String(repeating: "p", count: 150_000) : "é"
                    writer.send(["thread": .integer(Int64(thread)), "seq": .integer(Int64(sequence)), "pad": .string(padding)])
                }
            }
            XCTAssertTrue(writer.flush(timeout: 30))
            writer.close()
            pipe.closeWrite()
            let bytes = output.wait().first ?? []

            let bodies: [[UInt8]]
            switch framing {
            case .ndjson: bodies = lines(bytes)
            case .lsp: bodies = lspBodies(bytes).compactMap { if case .message(let body) = $0 { return body } else { return nil } }
            }
            XCTAssertEqual(bodies.count, threads * perThread, "\(framing)")
            var nextSequence = [Int64](repeating: 0, count: threads)
            for body in bodies {
                let message = try JSONParser().parse(body)
                guard let thread = message["thread"]?.int64Value, let sequence = message["seq"]?.int64Value else {
                    return XCTFail("bad frame \(String(decoding: body.prefix(80), as: UTF8.self))")
                }
                XCTAssertEqual(sequence, nextSequence[Int(thread)], "thread \(thread) out of order (\(framing))")
                nextSequence[Int(thread)] = sequence + 1
            }
        }
    }

    func testOutputWaitsForFramingAndCoalescesQueuedBodies() throws {
        let pipe = try TransportTestPipe()
        let writer = OutputWriter(fd: pipe.writeFD)
        writer.send(["progress": 10], coalescingKey: "progress:job1")
        writer.send(["result": "r"])
        writer.send(["progress": 20], coalescingKey: "progress:job2")
        writer.send(["progress": 90], coalescingKey: "progress:job1")
        XCTAssertNil(writer.framing)
        XCTAssertFalse(writer.flush(timeout: 0.2), "nothing can be written before the framing is known")
        XCTAssertFalse(pipe.hasData(within: 0.1))

        writer.setFraming(.lsp)
        writer.setFraming(.ndjson)  // ignored: the framing never changes mid-session
        XCTAssertTrue(writer.flush(timeout: 5))
        XCTAssertEqual(writer.framing, .lsp)
        XCTAssertEqual(writer.queuedByteCount, 0)
        writer.close()
        let output = pipe.startReadingToEnd()
        pipe.closeWrite()
        let expected = [#"{"progress":90}"#, #"{"result":"r"}"#, #"{"progress":20}"#].map { FramerEvent.message(Array($0.utf8)) }
        XCTAssertEqual(lspBodies(output.wait().first ?? []), expected)
    }

    func testBrokenPipeCallsOnPeerGoneOnceAndDropsOutput() throws {
        let pipe = try TransportTestPipe()
        pipe.closeRead()
        let reasons = TransportTestRecorder<OutputWriter.PeerGoneReason>()
        let writer = OutputWriter(fd: pipe.writeFD, framing: .ndjson, onPeerGone: { reasons.append($0) })
        for index in 0..<100 { writer.send(["n": .integer(Int64(index))]) }
        XCTAssertEqual(reasons.wait(count: 1), [.writeFailed(errno: EPIPE)])
        XCTAssertTrue(writer.isPeerGone)
        for index in 0..<100 { writer.send(["after": .integer(Int64(index))]) }
        XCTAssertFalse(writer.flush(timeout: 1))
        XCTAssertEqual(writer.queuedByteCount, 0)
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(reasons.values.count, 1, "called once")

        let late = TransportTestRecorder<OutputWriter.PeerGoneReason>()
        writer.setOnPeerGone { late.append($0) }
        XCTAssertEqual(late.values, [], "already notified: a late handler is not called again")
    }

    func testLateHandlerIsCalledIfPeerWentAwayFirst() throws {
        let pipe = try TransportTestPipe()
        pipe.closeRead()
        let writer = OutputWriter(fd: pipe.writeFD, framing: .ndjson)
        writer.send(["x": 1])
        XCTAssertFalse(writer.flush(timeout: 5))
        let late = TransportTestRecorder<OutputWriter.PeerGoneReason>()
        writer.setOnPeerGone { late.append($0) }
        XCTAssertEqual(late.values, [.writeFailed(errno: EPIPE)])
    }

    func testSendNeverBlocksAndAStalledPeerIsDeclaredGone() throws {
        let pipe = try TransportTestPipe()  // nobody reads: the pipe fills after 64 KiB
        let reasons = TransportTestRecorder<OutputWriter.PeerGoneReason>()
        let writer = OutputWriter(fd: pipe.writeFD, framing: .ndjson, maxQueuedBytes: 256 * 1024,
                                  onPeerGone: { reasons.append($0) })
        let body = [UInt8](repeating: UInt8(ascii: "a"), count: 32 * 1024)
        let start = Date()
        for _ in 0..<200 { writer.send(body) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "send must not wait for the peer")
        guard case .stalled(let queued)? = reasons.wait(count: 1).first else {
            return XCTFail("expected .stalled, got \(reasons.values)")
        }
        XCTAssertLessThanOrEqual(queued, 256 * 1024)
        XCTAssertTrue(writer.isPeerGone)
        pipe.closeRead()  // unblocks the writing thread with EPIPE; no second notification
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(reasons.values.count, 1)
    }

    func testQueueCoalescingBookkeeping() {
        var queue = OutgoingFrameQueue()
        for index in 0..<1_000 {
            queue.enqueue([UInt8](repeating: 0, count: 10), coalescingKey: "k\(index % 3)")
            queue.enqueue([1], coalescingKey: nil)
            if index % 2 == 0 { _ = queue.popFirst() }
        }
        // Draining never loses the keyed entries, and the byte count stays exact.
        var drained = 0
        while let body = queue.popFirst() { drained += body.count }
        XCTAssertEqual(queue.byteCount, 0)
        XCTAssertTrue(queue.isEmpty)
        XCTAssertGreaterThan(drained, 0)
    }
}
