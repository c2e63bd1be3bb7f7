import Foundation
import TestSupport
import XCTest

/// What the Hub's refusals become: kinds a program can switch on, messages a person can act on.
final class HuggingFaceErrorTests: HuggingFaceTestCase {
    private func addRepo(_ id: String = "acme/locked", access: FakeHubAccess) {
        fake.addRepo(id, files: [.text("config.json", "{}"), .lfs("model.safetensors", TestBytes.make(count: 10_000, seed: 51))],
                     access: access)
    }

    private func failure(_ params: [String: Any], env: [String: String] = [:], function: String = #function,
                         file: StaticString = #filePath, line: UInt = #line) throws -> (kind: String, message: String, data: [String: Any], server: ModelPullProcess) {
        let server = try launch(env, function: function)
        let response = try XCTUnwrap(download(server, params, expect: "error", file: file, line: line).response, file: file, line: line)
        let data = try XCTUnwrap(response.errorData, "\(response)", file: file, line: line)
        return (data["kind"] as? String ?? "", response.error?["message"] as? String ?? "", data, server)
    }

    func testGatedRepoWithoutTokenSaysHowToGetAccess() throws {
        addRepo(access: .gated(approved: ["hf_approved"]))
        let result = try failure(params("acme/locked"))
        XCTAssertEqual(result.kind, "gated")
        XCTAssertEqual(result.data["retryable"] as? Bool, false)
        XCTAssertTrue(result.message.contains("\(fake.endpoint)/acme/locked"), result.message)
        XCTAssertTrue(result.message.contains("HF_TOKEN"), result.message)
        XCTAssertEqual(fake.cdn.requestCount, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("acme/locked") + "/refs/main"))
    }

    func testGatedRepoWithAnUnapprovedTokenSaysAccessIsPending() throws {
        addRepo(access: .gated(approved: ["hf_approved"]))
        fake.addToken("hf_someoneElse")
        let result = try failure(params("acme/locked", ["token": "hf_someoneElse"]))
        XCTAssertEqual(result.kind, "gated")
        XCTAssertTrue(result.message.contains("not been granted"), result.message)
        XCTAssertFalse(result.message.contains("hf_someoneElse"))
        XCTAssertFalse(result.server.stderrText.contains("hf_someoneElse"))
    }

    func testGatedRepoWithAnApprovedTokenDownloads() throws {
        addRepo(access: .gated(approved: ["hf_approved"]))
        let server = try launch(["HF_TOKEN": "hf_approved"])
        XCTAssertNotNil(download(server, params("acme/locked")).response?.resultObject)
    }

    func testPrivateOrMissingRepoWithoutTokenSaysBoth() throws {
        addRepo(access: .restricted(readers: ["hf_reader"]))
        for model in ["acme/locked", "acme/does-not-exist"] {
            let result = try failure(params(model))
            XCTAssertEqual(result.kind, "auth_required", model)
            XCTAssertTrue(result.message.contains("not found"), result.message)
            XCTAssertTrue(result.message.contains("private"), result.message)
            XCTAssertTrue(result.message.contains("token"), result.message)
        }
    }

    func testRepoTheTokenCannotReadIsNotFound() throws {
        addRepo(access: .restricted(readers: ["hf_reader"]))
        fake.addToken("hf_stranger")
        let result = try failure(params("acme/locked", ["token": "hf_stranger"]))
        XCTAssertEqual(result.kind, "not_found")
        XCTAssertEqual((result.data["details"] as? [String: Any])?["errorCode"] as? String, "RepoNotFound")
    }

    func testRejectedTokenIsAuthRequired() throws {
        addRepo(access: .open)
        let result = try failure(params("acme/locked", ["token": "hf_revoked"]))
        XCTAssertEqual(result.kind, "auth_required")
        XCTAssertTrue(result.message.contains("rejected the token"), result.message)
        XCTAssertFalse(result.message.contains("hf_revoked"))
    }

    func testUnknownRevisionIsNotFoundAndNamesIt() throws {
        addRepo(access: .open)
        let result = try failure(params("acme/locked", ["revision": "v9.9"]))
        XCTAssertEqual(result.kind, "not_found")
        XCTAssertTrue(result.message.contains("'v9.9'"), result.message)
        XCTAssertEqual((result.data["details"] as? [String: Any])?["errorCode"] as? String, "RevisionNotFound")
    }

    func testFileMissingAtResolveIsNotFoundAndNamesIt() throws {
        addRepo(access: .open)
        let commit = try XCTUnwrap(fake.commit("acme/locked"))
        let missing = HTTPResponse.json(#"{"error": "Entry not found"}"#, status: 404)
            .setting("X-Error-Code", "EntryNotFound").setting("X-Error-Message", "Entry not found")
        fake.hub.faults.add(.respond(missing), for: .path("/acme/locked/resolve/\(commit)/config.json"), times: .always)
        let result = try failure(params("acme/locked"))
        XCTAssertEqual(result.kind, "not_found")
        XCTAssertTrue(result.message.contains("config.json"), result.message)
    }

    func testRateLimitIsWaitedOutWhenItClears() throws {
        addRepo(access: .open)
        let limited = HTTPResponse.status(429, headers: ["RateLimit": #""api";r=0;t=0"#, "RateLimit-Policy": #""fixed window";"api";q=500;w=300"#])
        fake.hub.faults.add(.respond(limited), for: .prefix("/api/models/acme/locked/revision/"))
        fake.hub.faults.add(.status(429, retryAfter: "0"), for: .prefix("/acme/locked/resolve/"))
        let server = try launch()
        XCTAssertNotNil(download(server, params("acme/locked")).response?.resultObject)
        XCTAssertEqual(fake.hub.requests(matching: .prefix("/api/models/acme/locked/revision/")).count, 2)
    }

    func testPersistentRateLimitIsReportedWithTheWait() throws {
        addRepo(access: .open)
        fake.hub.faults.add(.status(429, retryAfter: "0"), for: .prefix("/api/models/"), times: .always)
        let result = try failure(params("acme/locked"))
        XCTAssertEqual(result.kind, "rate_limited")
        XCTAssertEqual(result.data["retryable"] as? Bool, true)

        fake.hub.faults.removeAll()
        fake.hub.faults.add(.status(429, retryAfter: "3600"), for: .prefix("/api/models/"), times: .always)
        let long = try failure(params("acme/locked"))
        XCTAssertEqual(long.kind, "rate_limited")
        XCTAssertEqual(number(long.data["retryAfterSeconds"]), 3600, "a long wait is reported, not slept through")
    }

    func testServerErrorsAreRetried() throws {
        addRepo(access: .open)
        fake.hub.faults.addSequence([[.status(503)], [.status(500)]], for: .prefix("/api/models/acme/locked/tree/"))
        let server = try launch()
        XCTAssertNotNil(download(server, params("acme/locked")).response?.resultObject)
    }

    func testUnreachableHubIsANetworkError() throws {
        addRepo(access: .open)
        let dead = try LoopbackHTTPServer { _ in .status(200) }
        let url = dead.baseURL.absoluteString
        dead.stop()
        let server = try launch(["HF_ENDPOINT": url])
        server.request(1, "models/download", params("acme/locked"))
        let response = try XCTUnwrap(server.response(to: 1, timeout: 90).response)
        XCTAssertEqual(response.errorData?["kind"] as? String, "network")
        XCTAssertTrue((response.error?["message"] as? String ?? "").contains("HF_HUB_OFFLINE"))
    }

    func testMalformedModelIdsAreRejectedBeforeAnyJob() throws {
        let server = try launch()
        let cases: [(String, String)] = [("no--slash", "huggingface"), ("a/b/c", "huggingface"), ("org/na--me", "huggingface"),
                                         ("org/-name", "huggingface"), ("org/name:", "huggingface"), ("org/name:Q4_K_M", "mlx")]
        for (index, (model, provider)) in cases.enumerated() {
            server.request(index, "models/download", params(model, provider: provider))
            let (notifications, response) = server.response(to: index)
            XCTAssertEqual(response?.errorData?["kind"] as? String, "invalid_model", model)
            XCTAssertEqual(response?.errorCode, 1002, model)
            XCTAssertTrue(notifications.isEmpty, "no job was created for \(model)")
        }
        XCTAssertEqual(fake.hub.requestCount, 0)
    }

    func testBadRevisionAndBaseURLAreRejectedUpFront() throws {
        let server = try launch()
        server.request(1, "models/download", params("acme/x", ["revision": "../../etc"]))
        XCTAssertEqual(server.response(to: 1).response?.errorData?["kind"] as? String, "invalid_model")
        server.request(2, "models/download", params("acme/x", ["baseUrl": "ftp://hub.example"]))
        XCTAssertEqual(server.response(to: 2).response?.errorData?["kind"] as? String, "invalid_model")
    }
}
