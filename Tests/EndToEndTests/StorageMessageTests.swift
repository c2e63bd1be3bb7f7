import Foundation
import TestSupport
import XCTest

/// Filesystem errors name the folder the person chose and what to do, in flags at the command
/// line, never the hidden state folder with the C library's bare words.
final class StorageMessageTests: XCTestCase {
    func testAReadOnlyFolderIsNamedWithWhatToDo() throws {
        let router = Router()
        router.file("/m.bin", StaticFile(data: TestBytes.make(count: 10_000, seed: 52)))
        let http = try LoopbackHTTPServer(router: router)
        defer { http.stop() }
        let folder = try mountSmallDisk(megabytes: 1, at: makeTemporaryDirectory(name) + "/ro", readOnly: true)
        let process = try ModelPullProcess(arguments: ["pull", "url", http.url("/m.bin").absoluteString, "--local-dir", folder],
                                           recordTranscript: false)
        process.closeStdin()
        XCTAssertEqual(process.waitForExit(timeout: 30), 1)
        let stderr = process.stderrText
        XCTAssertTrue(stderr.contains("\(folder) is on a read-only filesystem") && stderr.contains("--local-dir"), stderr)
        XCTAssertEqual(http.requestCount, 0, "refused before any request")
    }
}
