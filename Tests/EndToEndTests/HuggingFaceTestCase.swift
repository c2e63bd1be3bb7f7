import Foundation
import TestSupport
import XCTest

/// Shared setup for the Hub end-to-end tests: a fake Hub + CDN, a temporary cache and HF_HOME,
/// and a binary whose environment cannot see the machine's real tokens or caches.
class HuggingFaceTestCase: XCTestCase {
    var fake: FakeHub!
    var root = ""
    var cache: String { root + "/hub" }
    var hfHome: String { root + "/hf-home" }

    override func setUpWithError() throws {
        fake = try FakeHub()
        root = makeTemporaryDirectory(name)
        try FileManager.default.createDirectory(atPath: hfHome, withIntermediateDirectories: true)
    }

    override func tearDown() {
        fake?.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Variables that would leak the runner's Hub settings into a test; empty means unset.
    static let isolatedEnvironment = ["HF_TOKEN": "", "HUGGING_FACE_HUB_TOKEN": "", "HF_TOKEN_PATH": "",
                                      "HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": "", "HF_HUB_CACHE": "",
                                      "HUGGINGFACE_HUB_CACHE": "", "HF_HUB_DISABLE_IMPLICIT_TOKEN": ""]

    /// `recordTranscript: false` for a process the test kills mid-request (its transcript would
    /// end with an unanswered request, which the schema check rightly rejects).
    func launch(_ environment: [String: String] = [:], arguments: [String] = [], recordTranscript: Bool = true,
                function: String = #function) throws -> ModelPullProcess {
        var env = Self.isolatedEnvironment
        env["HF_HOME"] = hfHome
        env["HF_ENDPOINT"] = fake.endpoint
        for (key, value) in environment { env[key] = value }
        return try ModelPullProcess(arguments: arguments, environment: env, recordTranscript: recordTranscript,
                                    function: function)
    }

    func params(_ model: String, provider: String = "huggingface", _ extra: [String: Any] = [:]) -> [String: Any] {
        var params: [String: Any] = ["provider": provider, "model": model, "cacheDir": cache]
        for (key, value) in extra { params[key] = value }
        return params
    }

    /// Sends one download and returns its notifications and response, checking the progress rules.
    @discardableResult
    func download(_ server: ModelPullProcess, id: Any = 1, _ params: [String: Any], expect: String = "complete",
                  file: StaticString = #filePath, line: UInt = #line) -> (notifications: [WireMessage], response: WireMessage?) {
        server.request(id, "models/download", params)
        let (notifications, response) = server.response(to: id, timeout: 60)
        XCTAssertNotNil(response, "no response; stderr: \(server.stderrText)", file: file, line: line)
        ProgressRules.check(notifications, response: response, expectTerminal: expect, file: file, line: line)
        return (notifications, response)
    }

    func repoFolder(_ repo: String) -> String {
        cache + "/models--" + repo.replacingOccurrences(of: "/", with: "--")
    }

    func snapshot(_ repo: String, _ commit: String) -> String {
        repoFolder(repo) + "/snapshots/" + commit
    }

    func contents(_ path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }

    func number(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

    /// Files under `path`, relative, sorted (symlinks listed, not followed).
    func listing(_ path: String) -> [String] {
        (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
    }
}
