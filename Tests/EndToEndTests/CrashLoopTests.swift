import Foundation
import TestSupport
import XCTest

/// kill -9 at random moments, several times in one download, then a run that is let finish: the
/// bytes in place are the source's bytes and no temporary file is left, whatever moment each
/// kill hit (mid-range, while a record or the ranges ledger was written, between verification
/// and the rename, between the rename and the record). A property over random kill times, not
/// a replay of one: the seed is printed, and `MODELPULL_CRASH_SEED` replays a failing run.
final class CrashLoopTests: HuggingFaceTestCase {
    private static let killsPerDownload = 4

    private func generator() -> SplitMix64 {
        let seed = ProcessInfo.processInfo.environment["MODELPULL_CRASH_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 1...UInt64.max)
        print("\(name): MODELPULL_CRASH_SEED=\(seed)")
        return SplitMix64(seed: seed)
    }

    /// Starts `params` in a fresh process and kills it after `delay` seconds, or as soon as it
    /// answers (a kill that came too late to interrupt anything is still a valid sample).
    private func runAndKill(_ params: [String: Any], after delay: TimeInterval) throws {
        let process = try launch(recordTranscript: false)
        process.request(1, "models/download", params)
        let deadline = Date().addingTimeInterval(delay)
        while Date() < deadline, let message = process.nextMessage(timeout: max(0.001, deadline.timeIntervalSinceNow)) {
            if message.isResponse { break }
        }
        process.signal(SIGKILL)
        XCTAssertNotNil(process.waitForExit(timeout: 5), "the process died")
    }

    private func finish(_ params: [String: Any], label: String) throws -> [String: Any] {
        let server = try launch()
        let (notifications, response) = download(server, params)
        XCTAssertEqual(response?.resultObject?["status"] as? String, "complete", "\(label): \(response?.raw ?? "")")
        _ = notifications
        return try XCTUnwrap(response?.resultObject, label)
    }

    private static func temporaryFiles(under root: String) -> [String] {
        (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter { path in
            let name = (path as NSString).lastPathComponent
            return name.hasSuffix(".partial") || name.hasSuffix(".ranges") || name.hasSuffix(".tmp")
                || name.hasSuffix(".partial.json") || name.hasSuffix(".incomplete") || name.hasPrefix(".modelpull-")
        }
    }

    func testRandomKillsDuringURLDownloadsEndInTheSourceBytes() throws {
        var random = generator()
        let data = TestBytes.make(count: 9 << 20, seed: 401)
        let router = Router()
        router.file("/m.bin", StaticFile(data: data))
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        // About two seconds a download: kills land anywhere from the first head to the rename.
        http.faults.add(.rateLimit(bytesPerSecond: 2 << 20), for: .path("/m.bin"), times: .always)
        for connections in [16, 1] {
            let folder = root + "/url-\(connections)"
            let params: [String: Any] = ["provider": "url", "model": http.url("/m.bin").absoluteString,
                                         "localDir": folder, "connections": connections]
            let duration = connections == 1 ? 4.5 : 1.5
            for kill in 0..<Self.killsPerDownload {
                let delay = Double.random(in: 0.02...duration, using: &random)
                print("\(name): \(connections) connection(s), kill \(kill + 1) after \(String(format: "%.3f", delay)) s")
                try runAndKill(params, after: delay)
            }
            http.faults.removeAll()
            _ = try finish(params, label: "\(connections) connection(s)")
            XCTAssertEqual(FileManager.default.contents(atPath: folder + "/m.bin"), data, "\(connections) connection(s)")
            XCTAssertEqual(Self.temporaryFiles(under: folder), [], "\(connections) connection(s): no temporary file left")
            http.faults.add(.rateLimit(bytesPerSecond: 2 << 20), for: .path("/m.bin"), times: .always)
        }
    }

    func testRandomKillsDuringAHubDownloadEndInTheListedBytes() throws {
        var random = generator()
        let files: [FakeHubFile] = [
            .text("config.json", #"{"model_type": "llama"}"#),
            .lfs("model-00001-of-00002.safetensors", TestBytes.make(count: 5 << 20, seed: 402)),
            .lfs("model-00002-of-00002.safetensors", TestBytes.make(count: 3 << 20, seed: 403)),
            .regular("tokenizer.json", TestBytes.make(count: 200_000, seed: 404)),
        ]
        let commit = fake.addRepo("acme/crash", files: files)
        for file in files where file.path.hasSuffix(".safetensors") {
            fake.cdn.faults.add(.rateLimit(bytesPerSecond: 2 << 20), for: .path(fake.cdnPath(fake.file("acme/crash", file.path))),
                                times: .always)
        }
        for kill in 0..<Self.killsPerDownload {
            let delay = Double.random(in: 0.02...1.5, using: &random)
            print("\(name): kill \(kill + 1) after \(String(format: "%.3f", delay)) s")
            try runAndKill(params("acme/crash"), after: delay)
        }
        fake.cdn.faults.removeAll()
        _ = try finish(params("acme/crash"), label: "hub")
        for file in files {
            let data = contents(snapshot("acme/crash", commit) + "/" + file.path) ?? Data()
            XCTAssertEqual(ExternalDigest.sha256(data), fake.file("acme/crash", file.path).sha256, file.path)
        }
        XCTAssertEqual(Self.temporaryFiles(under: cache), [], "no temporary file left")
    }
}
