import Foundation
import XCTest
@testable import ModelPullCore

/// OLLAMA_HOST read exactly as Ollama's envconfig reads it: the table is envconfig/config_test.go's
/// TestHost, plus the `ollama.com` shortcut and what `ConnectableHost()` changes.
final class OllamaEndpointTests: XCTestCase {
    func testHostTableMatchesOllamaEnvconfig() {
        let table: [(String, String)] = [
            ("", "http://127.0.0.1:11434"),
            ("1.2.3.4", "http://1.2.3.4:11434"),
            (":1234", "http://:1234"),
            ("1.2.3.4:1234", "http://1.2.3.4:1234"),
            ("example.com", "http://example.com:11434"),
            ("example.com:1234", "http://example.com:1234"),
            (":0", "http://:0"),
            (":66000", "http://:11434"),
            (":-1", "http://:11434"),
            ("[::1]", "http://[::1]:11434"),
            ("[::]", "http://[::]:11434"),
            ("::1", "http://[::1]:11434"),
            ("[::1]:1337", "http://[::1]:1337"),
            (" 1.2.3.4 ", "http://1.2.3.4:11434"),
            ("\"1.2.3.4\"", "http://1.2.3.4:11434"),
            (" \" 1.2.3.4 \" ", "http://1.2.3.4:11434"),
            ("'1.2.3.4'", "http://1.2.3.4:11434"),
            ("http://1.2.3.4", "http://1.2.3.4:80"),
            ("http://1.2.3.4:4321", "http://1.2.3.4:4321"),
            ("https://1.2.3.4", "https://1.2.3.4:443"),
            ("https://1.2.3.4:4321", "https://1.2.3.4:4321"),
            ("https://example.com/ollama", "https://example.com:443/ollama"),
            ("ollama.com", "https://ollama.com:443"),
            ("0.0.0.0", "http://0.0.0.0:11434"),
            ("localhost:abc", "http://localhost:11434"),
            ("http://example.com:99999/", "http://example.com:80"),
        ]
        for (value, expected) in table {
            XCTAssertEqual(OllamaEndpoint.parse(value).description, expected, "OLLAMA_HOST=\(value.debugDescription)")
        }
    }

    func testConnectableHostReachesUnspecifiedAddressesOnLoopback() {
        let table: [(String, String)] = [
            ("0.0.0.0", "http://127.0.0.1:11434"),
            ("0.0.0.0:8080", "http://127.0.0.1:8080"),
            ("[::]", "http://[::1]:11434"),
            ("[::]:5000", "http://[::1]:5000"),
            (":1234", "http://127.0.0.1:1234"),
            ("192.168.1.20", "http://192.168.1.20:11434"),
            ("https://example.com/ollama/", "https://example.com:443/ollama/"),
        ]
        for (value, expected) in table {
            XCTAssertEqual(OllamaEndpoint.parse(value).connectable.description, expected, value)
        }
    }

    func testRequestBaseURLWinsOverTheEnvironmentAndTheDefaultComesLast() {
        let environment = ProcessEnvironment(["OLLAMA_HOST": "10.0.0.5:7777"])
        let fromRequest = OllamaEndpoint.resolve(baseURL: "http://127.0.0.1:5555", environment: environment)
        XCTAssertEqual(fromRequest.description, "http://127.0.0.1:5555")
        XCTAssertEqual(fromRequest.source, .request)
        let fromEnvironment = OllamaEndpoint.resolve(baseURL: nil, environment: environment)
        XCTAssertEqual(fromEnvironment.description, "http://10.0.0.5:7777")
        XCTAssertEqual(fromEnvironment.source, .environment)
        let fallback = OllamaEndpoint.resolve(baseURL: nil, environment: ProcessEnvironment(["OLLAMA_HOST": ""]))
        XCTAssertEqual(fallback.description, "http://127.0.0.1:11434")
        XCTAssertEqual(fallback.source, .fallback)
    }

    func testAPIURLsKeepTheProxyPathAndRefuseOtherSchemes() {
        XCTAssertEqual(OllamaEndpoint.parse("https://example.com/ollama/").url("/api/pull")?.absoluteString,
                       "https://example.com:443/ollama/api/pull")
        XCTAssertEqual(OllamaEndpoint.parse("[::1]:1337").url("/api/tags")?.absoluteString, "http://[::1]:1337/api/tags")
        XCTAssertNil(OllamaEndpoint.parse("ftp://example.com").url("/api/pull"))
    }

    func testGoSplitHostPortEdgeCases() {
        XCTAssertEqual(GoNetAddress.splitHostPort("h:1")?.host, "h")
        XCTAssertEqual(GoNetAddress.splitHostPort("[::1]:80")?.host, "::1")
        XCTAssertEqual(GoNetAddress.splitHostPort(":80")?.host, "")
        XCTAssertEqual(GoNetAddress.splitHostPort("h:")?.port, "")
        XCTAssertNil(GoNetAddress.splitHostPort("h"))
        XCTAssertNil(GoNetAddress.splitHostPort("::1"), "too many colons")
        XCTAssertNil(GoNetAddress.splitHostPort("[::1]"), "missing port")
        XCTAssertNil(GoNetAddress.splitHostPort("[::1]x:80"))
        XCTAssertNil(GoNetAddress.splitHostPort("a]:80"))
        XCTAssertEqual(GoNetAddress.canonicalIP("::ffff:1.2.3.4"), "1.2.3.4")
        XCTAssertEqual(GoNetAddress.canonicalIP("2001:DB8:0:0:0:0:0:1"), "2001:db8::1")
        XCTAssertNil(GoNetAddress.canonicalIP("01.2.3.4"), "Go refuses leading zeros")
        XCTAssertNil(GoNetAddress.canonicalIP("fe80::1%eth0"), "Go's ParseIP refuses zones")
    }
}
