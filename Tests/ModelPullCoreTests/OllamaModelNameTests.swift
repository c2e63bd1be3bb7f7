import Foundation
import XCTest
@testable import ModelPullCore

/// Model names checked with the rules of Ollama's types/model/name.go.
final class OllamaModelNameTests: XCTestCase {
    private func parts(_ text: String) -> [String]? {
        guard case .success(let name) = OllamaModelName.parse(text) else { return nil }
        return [name.host, name.namespace, name.kind, name.model, name.tag]
    }

    func testValidNamesGetOllamasDefaults() {
        XCTAssertEqual(parts("llama3.2"), ["registry.ollama.ai", "library", "", "llama3.2", "latest"])
        XCTAssertEqual(parts("llama3.2:1b"), ["registry.ollama.ai", "library", "", "llama3.2", "1b"])
        XCTAssertEqual(parts("jmorganca/mistral:7b-q4"), ["registry.ollama.ai", "jmorganca", "", "mistral", "7b-q4"])
        XCTAssertEqual(parts("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"),
                       ["hf.co", "bartowski", "", "Llama-3.2-1B-Instruct-GGUF", "Q4_K_M"])
        XCTAssertEqual(parts("localhost:5000/team/model:v1"), ["localhost:5000", "team", "", "model", "v1"],
                       "a port in the host is not a tag")
        XCTAssertEqual(parts("https://example.com/ns/model:tag"), ["example.com", "ns", "", "model", "tag"])
        XCTAssertEqual(parts("example.com/ns/skill/tool:1"), ["example.com", "ns", "skill", "tool", "1"])
        XCTAssertEqual(parts("_private/m_1"), ["registry.ollama.ai", "_private", "", "m_1", "latest"])
    }

    func testInvalidNamesSayWhichPartIsWrong() {
        let table: [(String, String)] = [
            ("", "model"),
            ("-leading", "model"),
            ("bad name", "model"),
            ("model:", "tag"),
            ("model:has space", "tag"),
            (":tag", "model"),
            ("dotted.ns/model", "namespace"),
            ("/model", "namespace"),
            ("a/b/c/d", "host"),
            ("http://model", "namespace"),
            ("mödel", "model"),
            (String(repeating: "m", count: 81), "model"),
            ("m:" + String(repeating: "t", count: 81), "tag"),
            (String(repeating: "h", count: 351) + "/ns/m", "host"),
        ]
        for (name, part) in table {
            guard case .failure(let problem) = OllamaModelName.parse(name) else {
                XCTFail("\(name.debugDescription) should be invalid")
                continue
            }
            XCTAssertEqual(problem.part, part, name.debugDescription)
        }
        XCTAssertNoThrow(try OllamaProvider.checkName(String(repeating: "h", count: 350) + "/ns/m"))
    }

    func testValidationErrorIsInvalidModelWithTheRule() {
        XCTAssertThrowsError(try OllamaProvider.checkName("bad name!")) { error in
            let failure = error as? DownloadFailure
            XCTAssertEqual(failure?.kind, .invalidModel)
            XCTAssertEqual(failure?.retryable, false)
            XCTAssertTrue(failure?.message.contains("[host/][namespace/]model[:tag]") == true, failure?.message ?? "")
        }
    }
}
