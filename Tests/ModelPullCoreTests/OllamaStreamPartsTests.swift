import Foundation
import XCTest
@testable import ModelPullCore

/// The small pieces of the Ollama pull that are pure logic: line splitting, error wording,
/// layer sums, stall decisions, Go timestamps. The whole path is covered end to end in
/// EndToEndTests/Ollama*Tests.
final class OllamaStreamPartsTests: XCTestCase {
    func testLineBufferSplitsAcrossChunksAndKeepsTheUnterminatedTail() throws {
        var buffer = NDJSONLineBuffer(maxLineBytes: 64)
        XCTAssertEqual(try buffer.append(Data("{\"a\":1}\n{\"b\"".utf8)).map { String(decoding: $0, as: UTF8.self) }, ["{\"a\":1}"])
        XCTAssertEqual(try buffer.append(Data(":2}\r\n\n  \n".utf8)).map { String(decoding: $0, as: UTF8.self) }, ["{\"b\":2}"])
        _ = try buffer.append(Data("{\"status\":\"success\"}".utf8))
        XCTAssertEqual(buffer.finish().map { String(decoding: $0, as: UTF8.self) }, "{\"status\":\"success\"}")
        XCTAssertNil(buffer.finish())
    }

    func testLineBufferRefusesAnEndlessLine() {
        var buffer = NDJSONLineBuffer(maxLineBytes: 1000)
        XCTAssertNoThrow(try buffer.append(Data(repeating: 0x61, count: 600)))
        XCTAssertThrowsError(try buffer.append(Data(repeating: 0x61, count: 600)))
        var other = NDJSONLineBuffer(maxLineBytes: 10)
        XCTAssertThrowsError(try other.append(Data("0123456789ABC\n".utf8)), "a long line inside one chunk counts too")
    }

    func testOllamaErrorTextsMapToKinds() {
        let failures = OllamaFailures(model: "m:1", endpoint: OllamaEndpoint.parse(""))
        let table: [(String, ErrorKind, Bool)] = [
            ("pull model manifest: file does not exist", .notFound, false),
            (#"pull model manifest: 400: {"error":"The specified tag is not available in the repository."}"#, .notFound, false),
            ("pull model manifest: 412: The model you are attempting to pull requires a newer version of Ollama.", .upstream, false),
            ("max retries exceeded: EOF", .network, true),
            ("max retries exceeded: unexpected EOF on sha256:4125abc", .network, true),
            (#"pull model manifest: Get "https://registry.ollama.ai/v2/library/m/manifests/1": dial tcp: lookup registry.ollama.ai: no such host"#, .network, true),
            ("write /models/blobs/sha256-ab-partial: no space left on device", .diskFull, false),
            ("digest mismatch, file must be downloaded again: want sha256:aa, got sha256:bb", .integrity, true),
            ("unauthorized: access denied", .authRequired, false),
            ("invalid model name", .invalidModel, false),
            ("insecure protocol http", .invalidModel, false),
            ("pull model manifest: 429: slow down", .rateLimited, true),
            ("something new went wrong", .upstream, true),
        ]
        for (text, kind, retryable) in table {
            let failure = failures.pullError(text)
            XCTAssertEqual(failure.kind, kind, text)
            XCTAssertEqual(failure.retryable, retryable, text)
            XCTAssertTrue(failure.message.contains(text.prefix(40)), "Ollama's words are quoted: \(failure.message)")
            XCTAssertEqual(failure.details["ollamaError"], .string(text))
        }
    }

    func testLedgerSumsLayersAndCountsPresentOnesAsReused() {
        var ledger = OllamaLayerLedger()
        XCTAssertEqual(ledger.observe(digest: "sha256:" + String(repeating: "a", count: 64), total: 100, completed: 100), .appeared(reused: true))
        let b = "sha256:" + String(repeating: "b", count: 64)
        XCTAssertEqual(ledger.observe(digest: b, total: 1000, completed: 0), .appeared(reused: false))
        XCTAssertEqual(ledger.observe(digest: b, total: 1000, completed: 400), .advanced)
        XCTAssertEqual(ledger.observe(digest: b, total: 1000, completed: 400), .unchanged, "Ollama's 60 ms repeats")
        XCTAssertEqual(ledger.observe(digest: b, total: 1000, completed: 300), .other, "a part restarted")
        XCTAssertEqual(ledger.observe(digest: b, total: 1000, completed: 350), .advanced, "growth after a dip is activity")
        XCTAssertEqual(ledger.finishAll().map(\.digest), [b], "the last report fell short; Ollama moved on")
        XCTAssertEqual(ledger.totalBytes, 1100)
        XCTAssertEqual(ledger.bytesReused, 100)
        XCTAssertEqual(ledger.bytesDownloaded, 1000)
        XCTAssertEqual(ledger.files.map(\.path), ["blobs/sha256-" + String(repeating: "a", count: 64), "blobs/sha256-" + String(repeating: "b", count: 64)])
        _ = ledger.observe(digest: "sha256:model", total: 5, completed: 1)
        XCTAssertEqual(ledger.files.count, 2, "synthetic digests are not files")
        XCTAssertEqual(OllamaLayerLedger.shortName(b), "sha256:bbbbbbbbbbbb")
    }

    func testTerminalEventKeepsPercentWhenLayersGrewTheTotal() {
        // A layer already present reads 100 %; the next layer grows the total. The error that
        // ends the pull must not show less than what the client already saw.
        let progress = JobProgress(downloadId: "dl-1", status: .starting, message: "start", minimumInterval: 0)
        let events = EventLog()
        progress.attach(1) { events.append($0) }
        let interpreter = OllamaPullInterpreter(progress: progress, failures: OllamaFailures(model: "m", endpoint: OllamaEndpoint.parse("")))
        let present = "sha256:" + String(repeating: "c", count: 64)
        let next = "sha256:" + String(repeating: "d", count: 64)
        XCTAssertNoThrow(try interpreter.apply(OllamaPullLine(status: "pulling cccccccccccc", digest: present, total: 100, completed: 100)))
        XCTAssertNoThrow(try interpreter.apply(OllamaPullLine(status: "pulling dddddddddddd", digest: next, total: 900, completed: 90)))
        XCTAssertThrowsError(try interpreter.apply(OllamaPullLine(error: "max retries exceeded: EOF"))) { error in
            progress.finish(.failure(error as! DownloadFailure))
        }
        let percents = events.all.compactMap(\.percent)
        XCTAssertEqual(percents, percents.sorted(), "\(percents)")
        XCTAssertEqual(events.all.last?.status, .error)
        XCTAssertEqual(events.all.last?.totalBytes, 1000)
    }

    func testStallWatchWarnsOnceThenFailsAndIgnoresQuietPhases() {
        var watch = OllamaStallWatch(limit: 10, now: 0)
        XCTAssertEqual(watch.check(at: 9, quiet: false), .fine)
        XCTAssertEqual(watch.check(at: 10, quiet: false), .warn(seconds: 10))
        XCTAssertEqual(watch.check(at: 15, quiet: false), .fine, "warned once")
        XCTAssertTrue(watch.activity(at: 16), "activity ends the reported stall")
        XCTAssertEqual(watch.check(at: 30, quiet: true), .fine, "verifying is silent by design")
        XCTAssertEqual(watch.check(at: 49, quiet: false), .warn(seconds: 19))
        XCTAssertEqual(watch.check(at: 50, quiet: false), .fail(seconds: 20))
    }

    func testGoTimestampsWithNanosecondsAndOffsets() throws {
        let date = try XCTUnwrap(GoTime.parse("2025-01-30T09:12:44.123456789-05:00"))
        XCTAssertEqual(date.timeIntervalSince1970, 1_738_246_364.123_456_789, accuracy: 0.000_001)
        XCTAssertEqual(GoTime.parse("2025-01-30T14:12:44Z")?.timeIntervalSince1970, 1_738_246_364)
        XCTAssertNil(GoTime.parse("yesterday"))
    }
}

/// Collects the events a `JobProgress` emits (observers run under its lock, on any thread).
private final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [ProgressSnapshot] = []

    func append(_ event: ProgressSnapshot) {
        lock.lock(); defer { lock.unlock() }
        events.append(event)
    }

    var all: [ProgressSnapshot] {
        lock.lock(); defer { lock.unlock() }
        return events
    }
}
