import Foundation
import XCTest
@testable import ModelPullRPC
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class FramingStdinReaderTests: XCTestCase {
    private struct Recorders {
        let framing = TransportTestRecorder<Framing>()
        let events = TransportTestRecorder<FramerEvent>()
        let end = TransportTestRecorder<StdinReader.End>()
    }

    private func startReader(fd: Int32, framing: FramingChoice = .auto, limit: Int = MessageFramer.defaultMaxMessageBytes,
                             chunkSize: Int = StdinReader.defaultChunkSize) -> Recorders {
        let recorders = Recorders()
        let reader = StdinReader(
            fd: fd, framing: framing, maxMessageBytes: limit, chunkSize: chunkSize,
            onFramingDetected: { [framingRecorder = recorders.framing] in framingRecorder.append($0) },
            onEvent: { [events = recorders.events] in events.append($0) },
            onEnd: { [end = recorders.end] in end.append($0) })
        reader.start()
        reader.start()  // a second start is ignored
        return recorders
    }

    private func message(_ text: String) -> FramerEvent { .message(Array(text.utf8)) }

    func testReadsLSPFramesUntilEndOfInput() throws {
        let pipe = try TransportTestPipe()
        let recorders = startReader(fd: pipe.readFD, chunkSize: 7)
        let stream = Array("Content-Length: 9\r\n\r\n{\"id\":1}\ncontent-length: 2\r\n\r\n[]".utf8)
        for piece in stride(from: 0, to: stream.count, by: 5) {
            pipe.write(Array(stream[piece..<min(piece + 5, stream.count)]))
        }
        pipe.closeWrite()
        XCTAssertEqual(recorders.end.wait(), [.endOfInput])
        XCTAssertEqual(recorders.framing.values, [.lsp])
        XCTAssertEqual(recorders.events.values, [message("{\"id\":1}\n"), message("[]")])
    }

    func testDeliversOversizedEventAndKeepsReading() throws {
        let pipe = try TransportTestPipe()
        let recorders = startReader(fd: pipe.readFD, limit: 1_024)
        let writerThread = Thread {
            pipe.write(Array("{\"a\":1}\n".utf8))
            pipe.write([UInt8](repeating: UInt8(ascii: "["), count: 300_000) + [0x0A])
            pipe.write(Array("{\"b\":2}\r\n".utf8))
            pipe.closeWrite()
        }
        writerThread.start()
        XCTAssertEqual(recorders.end.wait(), [.endOfInput])
        XCTAssertEqual(recorders.framing.values, [.ndjson])
        XCTAssertEqual(recorders.events.values, [message("{\"a\":1}"), .oversized(300_000), message("{\"b\":2}")])
    }

    func testFixedFramingIsReportedBeforeAnyInput() throws {
        let pipe = try TransportTestPipe()
        let recorders = startReader(fd: pipe.readFD, framing: .ndjson)
        XCTAssertEqual(recorders.framing.wait(), [.ndjson])
        pipe.write(Array("Content-Length: 2\n".utf8))
        pipe.closeWrite()
        XCTAssertEqual(recorders.end.wait(), [.endOfInput])
        XCTAssertEqual(recorders.events.values, [message("Content-Length: 2")])
    }

    func testInheritedNonBlockingDescriptorIsPolledNotChanged() throws {
        let pipe = try TransportTestPipe()
        let flags = fcntl(pipe.readFD, F_GETFL)
        XCTAssertEqual(fcntl(pipe.readFD, F_SETFL, flags | O_NONBLOCK), 0)
        let recorders = startReader(fd: pipe.readFD)
        Thread.sleep(forTimeInterval: 0.1)  // the reader meets EAGAIN first
        pipe.write(Array("{}\n".utf8))
        XCTAssertEqual(recorders.events.wait(), [message("{}")])
        XCTAssertNotEqual(fcntl(pipe.readFD, F_GETFL) & O_NONBLOCK, 0, "the reader must not clear O_NONBLOCK")
        pipe.closeWrite()
        XCTAssertEqual(recorders.end.wait(), [.endOfInput])
    }

    func testReadErrorEndsTheReader() {
        let recorders = startReader(fd: -1)
        XCTAssertEqual(recorders.end.wait(), [.readError(errno: EBADF)])
    }

    func testEndOfInputDeliversAnUnterminatedLastLine() throws {
        let pipe = try TransportTestPipe()
        let recorders = startReader(fd: pipe.readFD)
        pipe.write(Array("  [1]\n[2]".utf8))
        pipe.closeWrite()
        XCTAssertEqual(recorders.end.wait(), [.endOfInput])
        XCTAssertEqual(recorders.events.values, [message("[1]"), message("[2]")])
    }
}
