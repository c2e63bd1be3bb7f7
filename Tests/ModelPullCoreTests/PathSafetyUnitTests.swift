import Foundation
@testable import ModelPullCore
import XCTest

/// The rules for names from a server, on the bytes the filesystem sees; the end-to-end proof is
/// `PathSafetyTests` (through the binary, into a real cache and folder).
final class PathSafetyUnitTests: XCTestCase {
    private func isSafe(_ path: String, secrets: [String] = []) -> Bool {
        (try? SafePath.validate(path, secrets: secrets)) != nil
    }

    func testComponentsAreSplitOnTheSlashByteNotOnGraphemes() {
        // One grapheme "/\u{301}" to Swift; `..` then `\u{301}x` to the kernel.
        XCTAssertEqual("../\u{301}x".split(separator: "/").count, 1, "the premise: Swift sees no separator")
        for unsafe in ["../\u{301}x", "a/../\u{301}x", "..\u{301}/../\u{20DD}x", "a/\u{301}", "\u{0903}x", "a/\u{20DD}b"] {
            XCTAssertFalse(isSafe(unsafe), unsafe.debugDescription)
        }
        // A mark inside a name is an ordinary name (NFD file names are full of them).
        for safe in ["cafe\u{301}.txt", "caf\u{e9}.txt", "..\u{301}", "e\u{301}/x", "a\u{200D}b", "\u{202E}txt.exe", "日本/語.bin"] {
            XCTAssertTrue(isSafe(safe), safe.debugDescription)
        }
    }

    func testTheClassicUnsafeNamesStayRejected() {
        let long = String(repeating: "a", count: 256)
        for unsafe in ["", "/etc/x", "..", ".", "a/./b", "a//b", "a/", "a\\b", "nul\u{0}x", "tab\tx", "del\u{7f}x", "c1\u{85}x",
                       long, "ok/" + long, String(repeating: "a/", count: 2100) + "a"] {
            XCTAssertFalse(isSafe(unsafe), unsafe.debugDescription.prefix(80).description)
        }
        XCTAssertTrue(isSafe(String(repeating: "é", count: 127)), "254 bytes are within NAME_MAX")
        XCTAssertFalse(isSafe(String(repeating: "é", count: 128)), "256 bytes are not, however few characters")
    }

    func testReservedFoldersAreRefusedInEveryCaseAndDisguise() {
        for unsafe in [".git/config", "sub/.git/hooks/x", ".GIT/x", ".gi\u{200C}t/x", ".cache/huggingface/download/x.lock",
                       ".Cache/HuggingFace/download/a.modelpull.partial", ".CACHE/HUGGINGFACE", ".cach\u{200D}e/huggingface/x",
                       ".\u{200B}/x", "a/.\u{FEFF}./b", ".cache", ".CACHE"] {
            XCTAssertFalse(isSafe(unsafe), unsafe.debugDescription)
        }
        for safe in [".gitattributes", ".github/workflows/x.yml", ".cache/other/x", "sub/.cache/huggingface/x", "x.git"] {
            XCTAssertTrue(isSafe(safe), safe)
        }
    }

    func testAPathHoldingTheTokenIsRefusedWithoutQuotingIt() {
        let token = "hf_secretTOKEN123"
        for path in ["dir/\(token).bin", "x-\(token.uppercased())", "../\(token)"] {
            XCTAssertThrowsError(try SafePath.validate(path, secrets: [token])) { error in
                let message = (error as? DownloadFailure)?.message ?? ""
                XCTAssertTrue(message.contains("Refusing unsafe"), message)
                XCTAssertFalse(message.lowercased().contains(token.lowercased()), message)
            }
        }
        XCTAssertTrue(isSafe("hf_other.bin", secrets: [token]))
        XCTAssertTrue(isSafe("ab/c", secrets: ["ab"]), "too short to be a credential")
    }

    func testExactPathsKeepCanonicallyEquivalentNamesApart() {
        let nfc = "caf\u{e9}.txt", nfd = "cafe\u{301}.txt"
        XCTAssertEqual(nfc, nfd, "the premise: Swift's String equality merges them")
        XCTAssertEqual(Set([ExactPath(nfc), ExactPath(nfd)]).count, 2)
        XCTAssertNotEqual(HubFile(path: nfc, size: 1, blobId: "a", lfsSHA256: nil), HubFile(path: nfd, size: 1, blobId: "a", lfsSHA256: nil))
        XCTAssertTrue(HubGlob(nfc).matches(nfc))
        XCTAssertFalse(HubGlob(nfc).matches(nfd), "globs compare code points, as fnmatch does")
        XCTAssertTrue(HubGlob("caf?.txt").matches(nfc))
        XCTAssertFalse(HubGlob("caf?.txt").matches(nfd), "? is one code point, not a grapheme")
        XCTAssertTrue(HubGlob("caf??.txt").matches(nfd))
    }
}
