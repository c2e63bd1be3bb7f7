import Foundation
import TestSupport
import XCTest

/// How the Hub provider fetches: small files straight from `/resolve/` (no HEAD each), large
/// LFS blobs in ranges from the CDN, verified as a whole.
final class HubParallelTests: HuggingFaceTestCase {
    func testSmallFilesAreFetchedWithoutAHeadEach() throws {
        let files = (0..<24).map { FakeHubFile.text("shards/part-\($0).json", "{\"n\": \($0)}") }
            + [.lfs("model.safetensors", TestBytes.make(count: 200_000, seed: 97))]
        let commit = fake.addRepo("acme/many-small", files: files)
        let server = try launch()
        let result = try XCTUnwrap(download(server, params("acme/many-small")).response?.resultObject)
        XCTAssertEqual((result["files"] as? [[String: Any]])?.count, files.count)
        XCTAssertTrue(fake.hub.requests.filter { $0.method == "HEAD" }.isEmpty, "the listing gave sizes and digests; no HEAD")
        for file in files {
            XCTAssertEqual(fake.hub.requests(to: "/acme/many-small/resolve/\(commit)/\(file.path)").count, 1, file.path)
        }
        XCTAssertEqual(contents(snapshot("acme/many-small", commit) + "/shards/part-7.json"), Data("{\"n\": 7}".utf8))
    }

    func testALargeBlobComesInRangesAndACorruptRangeIsHealedByTheRetry() throws {
        let weights = TestBytes.make(count: 12 << 20, seed: 98)
        let commit = fake.addRepo("acme/large", files: [.text("config.json", "{}"), .lfs("model.safetensors", weights)])
        let model = fake.file("acme/large", "model.safetensors")
        // One byte inside whichever range is served first, early enough that it is always
        // written: a later byte could fall in the back half another connection takes over when
        // that range runs slow, and then the corrupt bytes are never used.
        fake.cdn.faults.add(.corrupt(offsets: [100_000]), for: .path(fake.cdnPath(model)))
        let server = try launch()
        let result = try XCTUnwrap(download(server, params("acme/large")).response?.resultObject)
        XCTAssertNotNil(result["path"])
        XCTAssertEqual(ExternalDigest.sha256(contents(snapshot("acme/large", commit) + "/model.safetensors") ?? Data()), model.sha256)
        let asked = fake.cdn.requests(to: fake.cdnPath(model)).compactMap { $0.header("Range") }
        XCTAssertGreaterThanOrEqual(asked.count, 12, "two attempts of six 2 MiB ranges each: \(asked)")
        XCTAssertGreaterThanOrEqual(fake.cdn.bodyBytesSent(path: fake.cdnPath(model)), 2 * weights.count,
                                    "the bad attempt was discarded whole and fetched again")
        let blobs = try FileManager.default.contentsOfDirectory(atPath: repoFolder("acme/large") + "/blobs")
        XCTAssertEqual(blobs.sorted(), [fake.file("acme/large", "config.json").etag, model.etag].sorted(),
                       "no partial or ranges record left: \(blobs)")
    }
}
