import Foundation
import TestSupport
import XCTest

/// Behind a proxy, with a private certificate authority: the variables curl and Python users
/// already set, honoured for every request (API calls, CDN redirects, Ollama), with errors that
/// name the proxy (never its password) or the variable to set.
final class ProxyAndTrustTests: HuggingFaceTestCase {
    private var authority: (bundle: String, directory: String) = ("", "")
    /// No proxy or trust variable of the machine running the tests leaks in.
    private static let clean = ["HTTPS_PROXY": "", "https_proxy": "", "HTTP_PROXY": "", "http_proxy": "", "ALL_PROXY": "",
                                "all_proxy": "", "NO_PROXY": "", "no_proxy": "", "SSL_CERT_FILE": "", "SSL_CERT_DIR": "",
                                "REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""]

    override func setUpWithError() throws {
        try super.setUpWithError()
        authority = try TLSTestServer.writeTestAuthority(into: root)
    }

    private func run(_ environment: [String: String], _ params: [String: Any], expect: String = "complete")
        -> (response: WireMessage?, stderr: String) {
        guard let server = try? launch(Self.clean.merging(environment) { $1 }) else { return (nil, "") }
        let (_, response) = download(server, params, expect: expect)
        server.closeStdin()
        _ = server.waitForExit(timeout: 10)
        return (response, server.stderrText)
    }

    private func urlParams(_ url: URL, into folder: String) -> [String: Any] {
        ["provider": "url", "model": url.absoluteString, "localDir": folder]
    }

    func testAPrivateAuthorityIsTrustedThroughEachVariableAndOnlyThen() throws {
        let body = TestBytes.make(count: 200_000, seed: 160)
        let tls = try TLSTestServer(signedByTestCA: true, body: body)
        defer { tls.stop() }
        let url = tls.url("/weights.bin")

        let refused = run([:], urlParams(url, into: root + "/none"), expect: "error")
        XCTAssertEqual(refused.response?.errorData?["kind"] as? String, "network", refused.response?.raw ?? "")
        XCTAssertTrue((refused.response?.error?["message"] as? String ?? "").contains("SSL_CERT_FILE"), refused.response?.raw ?? "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/none/weights.bin"))

        for (variable, value) in [("SSL_CERT_FILE", authority.bundle), ("REQUESTS_CA_BUNDLE", authority.bundle),
                                  ("CURL_CA_BUNDLE", authority.bundle), ("SSL_CERT_DIR", authority.directory)] {
            let folder = root + "/" + variable
            let accepted = run([variable: value], urlParams(url, into: folder))
            XCTAssertEqual(accepted.response?.resultObject?["status"] as? String, "complete", "\(variable): \(accepted.response?.raw ?? "")")
            XCTAssertEqual(FileManager.default.contents(atPath: folder + "/weights.bin"), body, variable)
        }

        // A bundle that does not hold the server's root names the file it came from.
        let other = root + "/other.pem"
        try FileManager.default.copyItem(atPath: "/etc/ssl/certs/ca-certificates.crt", toPath: other)
        let wrong = run(["SSL_CERT_FILE": other], urlParams(url, into: root + "/wrong"), expect: "error")
        XCTAssertTrue((wrong.response?.error?["message"] as? String ?? "").contains(other), wrong.response?.raw ?? "")
    }

    func testHTTPSGoesThroughTheProxyWithItsCredentialsAndThePrivateAuthority() throws {
        let tls = try TLSTestServer(signedByTestCA: true, body: Data("through the tunnel".utf8))
        defer { tls.stop() }
        let proxy = try HTTPProxyServer(policy: .requireCredentials(user: "alice", password: "s3cret-pass"))
        defer { proxy.stop() }
        let result = run(["HTTPS_PROXY": proxy.url(user: "alice", password: "s3cret-pass"), "SSL_CERT_FILE": authority.bundle],
                         urlParams(tls.url("/weights.bin"), into: root + "/out"))
        XCTAssertEqual(result.response?.resultObject?["status"] as? String, "complete", result.response?.raw ?? "")
        XCTAssertEqual(proxy.requests.first, "CONNECT 127.0.0.1:\(tls.port)", "\(proxy.requests)")
        XCTAssertFalse((result.response?.raw ?? "").contains("s3cret-pass") || result.stderr.contains("s3cret-pass"))
    }

    /// The Hub's API calls and the CDN's bodies both go through `HTTP_PROXY` (upper case, which
    /// libcurl alone would ignore); `NO_PROXY` with a port sends only that origin direct.
    func testEveryHubRequestGoesThroughTheProxyUnlessNoProxySaysOtherwise() throws {
        let weights = TestBytes.make(count: 300_000, seed: 161)
        fake.addRepo("acme/proxied", files: [.text("config.json", "{}"), .lfs("model.safetensors", weights)])
        let proxy = try HTTPProxyServer()
        defer { proxy.stop() }
        let result = run(["HTTP_PROXY": proxy.url()], params("acme/proxied"))
        XCTAssertEqual(result.response?.resultObject?["status"] as? String, "complete", result.response?.raw ?? "")
        let seen = proxy.requests
        XCTAssertTrue(seen.contains { $0.contains("127.0.0.1:\(fake.hub.port)/api/models/acme/proxied/revision/main") }, "\(seen)")
        XCTAssertTrue(seen.contains { $0.contains("127.0.0.1:\(fake.cdn.port)/repos/") }, "the CDN too: \(seen)")

        try FileManager.default.removeItem(atPath: cache)
        let before = proxy.requests.count
        let bypassed = run(["HTTP_PROXY": proxy.url(), "NO_PROXY": "example.com, 127.0.0.1:\(fake.hub.port)"], params("acme/proxied"))
        XCTAssertEqual(bypassed.response?.resultObject?["status"] as? String, "complete", bypassed.response?.raw ?? "")
        let after = Array(proxy.requests.dropFirst(before))
        XCTAssertFalse(after.contains { $0.contains(":\(fake.hub.port)/") }, "the Hub is reached directly: \(after)")
        XCTAssertTrue(after.contains { $0.contains(":\(fake.cdn.port)/") }, "the CDN, another port, still through the proxy: \(after)")

        try FileManager.default.removeItem(atPath: cache)
        let everything = proxy.requests.count
        XCTAssertEqual(run(["HTTP_PROXY": proxy.url(), "no_proxy": "*"], params("acme/proxied")).response?.resultObject?["status"] as? String, "complete")
        XCTAssertEqual(proxy.requests.count, everything, "`*` bypasses every host")
    }

    /// The fallback engine (URLSession) goes through the same proxy, upper-case variable included.
    func testTheURLSessionEngineUsesTheSameProxy() throws {
        fake.addRepo("acme/fallback", files: [.text("config.json", "{}"), .lfs("model.safetensors", TestBytes.make(count: 100_000, seed: 163))])
        let proxy = try HTTPProxyServer()
        defer { proxy.stop() }
        let result = run(["HTTP_PROXY": proxy.url(), "MODELPULL_TRANSFER_ENGINE": "urlsession"], params("acme/fallback"))
        XCTAssertEqual(result.response?.resultObject?["status"] as? String, "complete", result.response?.raw ?? "")
        XCTAssertTrue(proxy.requests.contains { $0.contains(":\(fake.hub.port)/api/models/acme/fallback/") }, "\(proxy.requests)")
        XCTAssertTrue(proxy.requests.contains { $0.contains(":\(fake.cdn.port)/repos/") }, "\(proxy.requests)")
    }

    /// A proxy that cannot be reached, or refuses: `network`, naming the proxy without its
    /// password, and no answer from the cache (the Hub is not down, the way to it is).
    func testAFailingProxyIsNamedWithoutCredentialsAndTheCacheDoesNotAnswer() throws {
        let commit = fake.addRepo("acme/cached", files: [.text("config.json", "{}")])
        download(try launch(Self.clean), params("acme/cached"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: snapshot("acme/cached", commit) + "/config.json"))

        let closed = try LoopbackHTTPServer { _ in .notFound() }
        let port = closed.port
        closed.stop()
        let unreachable = run(["HTTP_PROXY": "http://bob:hunter22@127.0.0.1:\(port)"], params("acme/cached"), expect: "error")
        let message = unreachable.response?.error?["message"] as? String ?? ""
        XCTAssertEqual(unreachable.response?.errorData?["kind"] as? String, "network", unreachable.response?.raw ?? "")
        XCTAssertTrue(message.contains("http://127.0.0.1:\(port)") && message.contains("HTTP_PROXY"), message)
        XCTAssertFalse(message.contains("hunter22") || unreachable.stderr.contains("hunter22"), message)

        let tls = try TLSTestServer(signedByTestCA: true)
        defer { tls.stop() }
        let refusing = try HTTPProxyServer(policy: .refuse)
        defer { refusing.stop() }
        let refused = run(["HTTPS_PROXY": refusing.url(user: "bob", password: "hunter22"), "SSL_CERT_FILE": authority.bundle],
                          urlParams(tls.url("/weights.bin"), into: root + "/refused"), expect: "error")
        let said = refused.response?.error?["message"] as? String ?? ""
        XCTAssertTrue(said.contains("proxy") && said.contains("127.0.0.1:\(refusing.port)"), said)
        XCTAssertFalse(said.contains("hunter22") || refused.stderr.contains("hunter22"), said)
        XCTAssertEqual(refusing.requests, ["CONNECT 127.0.0.1:\(tls.port) 403"])
    }

    /// Ollama's registry and its CDN through the proxy as well.
    func testAnOllamaRegistryPullGoesThroughTheProxy() throws {
        let registry = try FakeOllamaRegistry()
        defer { registry.stop() }
        let weights = TestBytes.make(count: 200_000, seed: 162)
        registry.addModel("proxied", layers: [weights])
        let proxy = try HTTPProxyServer()
        defer { proxy.stop() }
        let store = root + "/ollama"
        let server = try launch(Self.clean.merging(["HTTP_PROXY": proxy.url(), "OLLAMA_MODELS": store, "OLLAMA_HOST": "127.0.0.1:9",
                                                     "NO_PROXY": "127.0.0.1:9"]) { $1 })
        let (_, response) = download(server, ["provider": "ollama", "model": "\(registry.host)/library/proxied", "insecure": true])
        XCTAssertEqual(response?.resultObject?["status"] as? String, "complete", response?.raw ?? "")
        XCTAssertTrue(proxy.requests.contains { $0.contains("\(registry.host)/v2/library/proxied/manifests/latest") }, "\(proxy.requests)")
        XCTAssertTrue(proxy.requests.contains { $0.contains("127.0.0.1:\(registry.cdn.port)/blobs/") }, "\(proxy.requests)")
        XCTAssertEqual(FileManager.default.contents(atPath: "\(store)/blobs/sha256-\(FakeOllamaRegistry.sha256(weights))"), weights)
    }
}
