import Foundation
import TestSupport
import XCTest

/// huggingface_hub's offline fallback: when the Hub cannot answer and the cache holds the
/// revision complete, the answer is `complete` from the cache with nothing fetched or written,
/// and a message that says why. Never for a revision the Hub says does not exist, never without
/// a complete snapshot.
final class HubCacheFallbackTests: HuggingFaceTestCase {
    private let weights = TestBytes.make(count: 400_000, seed: 150)

    @discardableResult
    private func addRepo() -> String {
        fake.addRepo("acme/cached", files: [.text("config.json", #"{"model_type":"llama"}"#), .lfs("model.safetensors", weights)])
    }

    /// Every file and link under the repo folder with its modification time: "nothing written".
    private func state(_ folder: String) -> [String: Double] {
        var found: [String: Double] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let relative = enumerator?.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: folder + "/" + relative)
            found[relative] = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
        }
        return found
    }

    func testAnUnreachableHubIsAnsweredFromACompleteCachedSnapshot() throws {
        let commit = addRepo()
        let server = try launch()
        download(server, id: 1, params("acme/cached"))
        let before = state(repoFolder("acme/cached"))
        XCTAssertTrue(before.keys.contains("trees/\(commit).json"), "the listing is kept: \(before.keys.sorted())")
        fake.stop()

        let again = try launch()
        let result = try XCTUnwrap(download(again, id: 1, params("acme/cached")).response?.resultObject)
        XCTAssertEqual(result["revision"] as? String, commit)
        XCTAssertEqual(result["path"] as? String, snapshot("acme/cached", commit))
        XCTAssertEqual(number(result["bytesDownloaded"]), 0)
        let message = result["message"] as? String ?? ""
        XCTAssertTrue(message.contains("could not be reached") && message.contains(commit), message)
        XCTAssertEqual(state(repoFolder("acme/cached")), before, "nothing in the cache was written")
    }

    /// 503, 429, 401 and a repo the Hub no longer shows: each answered from the cache after one
    /// request, not after the retry budget.
    func testHubErrorsAreAnsweredFromTheCacheAfterOneRequest() throws {
        let commit = addRepo()
        download(try launch(), id: 1, params("acme/cached"))
        for (index, status) in [503, 429, 401, 404].enumerated() {
            fake.hub.faults.removeAll()
            fake.hub.clearRequestLog()
            fake.hub.faults.add(.status(status), for: .prefix("/api/models/acme/cached/"), times: .always)
            let server = try launch()
            let result = try XCTUnwrap(download(server, id: index + 2, params("acme/cached")).response?.resultObject, "HTTP \(status)")
            XCTAssertEqual(result["revision"] as? String, commit)
            XCTAssertTrue((result["message"] as? String ?? "").contains("HTTP \(status)"), "\(result)")
            XCTAssertEqual(fake.hub.requests(matching: .prefix("/api/models/")).count, 1, "HTTP \(status): one request, then the cache")
        }
    }

    func testARevisionTheHubSaysDoesNotExistIsNotServedFromTheCache() throws {
        let commit = addRepo()
        fake.setRef("acme/cached", "v1", to: commit)
        download(try launch(), id: 1, params("acme/cached", ["revision": "v1"]))
        fake.removeRef("acme/cached", "v1")
        let response = try XCTUnwrap(download(try launch(), id: 2, params("acme/cached", ["revision": "v1"]), expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "not_found", response.raw)
        XCTAssertTrue((response.error?["message"] as? String ?? "").contains("Revision 'v1'"), response.raw)
    }

    /// Only config.json was fetched; the listing says the snapshot has more: no fallback, the
    /// Hub's failure as it is.
    func testAnIncompleteCachedSnapshotGivesTheOriginalError() throws {
        addRepo()
        download(try launch(), id: 1, params("acme/cached", ["include": ["config.json"]]))
        fake.stop()
        let response = try XCTUnwrap(download(try launch(), id: 2, params("acme/cached"), expect: "error").response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "network", response.raw)
        // …while what was fetched is still an answer for a request that selects only it.
        let partial = try XCTUnwrap(download(try launch(), id: 3, params("acme/cached", ["include": ["config.json"]])).response?.resultObject)
        XCTAssertEqual((partial["files"] as? [[String: Any]])?.count, 1)
    }

    func testALocalDirWhoseMetadataShowsEveryFileIsAnsweredToo() throws {
        let commit = addRepo()
        let folder = root + "/local"
        download(try launch(), id: 1, params("acme/cached", ["localDir": folder]))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/.cache/huggingface/trees/\(commit).json"))
        fake.hub.faults.add(.status(502), for: .prefix("/api/"), times: .always)
        let result = try XCTUnwrap(download(try launch(), id: 2, params("acme/cached", ["localDir": folder])).response?.resultObject)
        XCTAssertEqual(result["path"] as? String, folder)
        XCTAssertTrue((result["message"] as? String ?? "").contains("HTTP 502"), "\(result)")
        XCTAssertEqual(fake.cdn.bodyBytesSent, weights.count, "the second answer fetched nothing")
    }

    /// `trees/{commit}.json` in the format huggingface_hub 2.4 reads: the whole listing, the
    /// LFS digest and size for LFS files.
    func testTheListingIsKeptInHuggingFaceHubsTreeFormat() throws {
        let commit = addRepo()
        download(try launch(), id: 1, params("acme/cached", ["include": ["config.json"]]))
        let data = try XCTUnwrap(contents(repoFolder("acme/cached") + "/trees/\(commit).json"))
        let tree = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(tree["format_version"] as? Int, 1)
        let files = try XCTUnwrap(tree["files"] as? [String: [String: Any]])
        XCTAssertEqual(files.keys.sorted(), ["config.json", "model.safetensors"], "the whole listing, not the selection")
        let model = fake.file("acme/cached", "model.safetensors")
        XCTAssertEqual(files["model.safetensors"]?["lfs_sha256"] as? String, model.sha256)
        XCTAssertEqual(files["model.safetensors"]?["lfs_size"] as? Int, weights.count)
        XCTAssertEqual(files["model.safetensors"]?["size"] as? Int, weights.count)
        XCTAssertEqual(files["config.json"]?["blob_id"] as? String, fake.file("acme/cached", "config.json").oid)
        XCTAssertNil(files["config.json"]?["lfs_sha256"])
    }
}
