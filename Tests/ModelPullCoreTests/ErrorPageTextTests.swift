import Foundation
@testable import ModelPullCore
import TestSupport
import XCTest

/// Error bodies become a few plain words: never markup, never control characters, never long.
final class ErrorPageTextTests: XCTestCase {
    func testPagesRealServersSendAreSummarisedAsText() {
        let python = """
            <!DOCTYPE HTML>
            <html lang="en">
                <head>
                    <meta charset="utf-8">
                    <title>Error response</title>
                </head>
                <body>
                    <h1>Error response</h1>
                    <p>Error code: 404</p>
                    <p>Message: File not found.</p>
                </body>
            </html>
            """
        XCTAssertEqual(ErrorPageText.summary(Data(python.utf8)), "Error response Error code: 404 Message: File not found.")
        let nginx = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
        XCTAssertEqual(ErrorPageText.summary(Data(nginx.utf8)), "403 Forbidden nginx/1.22.1")
        let scripted = "<html><body><script>var x = '<p>no</p>';</script><style>p{}</style><!-- hidden --><p>Gone &amp; away</p></body></html>"
        XCTAssertEqual(ErrorPageText.summary(Data(scripted.utf8)), "Gone & away")
        XCTAssertEqual(ErrorPageText.summary(Data(#"{"error": "Repository not found"}"#.utf8)), "Repository not found")
        XCTAssertEqual(ErrorPageText.summary(Data("Not Found\nmore".utf8)), "Not Found")
        XCTAssertNil(ErrorPageText.summary(Data()))
        XCTAssertNil(ErrorPageText.summary(Data("<html><body>   </body></html>".utf8)))
    }

    /// Whatever the bytes, the summary is one bounded line without controls or tags.
    func testAnyBodyGivesABoundedPrintableLine() {
        var random = SplitMix64(seed: 7)
        let pieces = ["<html>", "<body>", "</body>", "<p>", "</p>", "<script>", "</script>", "<!--", "-->", "&amp;", "&lt;",
                      "\u{1B}]0;title\u{07}", "\r\n", "\u{0}", "\u{85}", "{\"error\":", "\"x\"}", "text ", "é", "漢字", "<"]
        for _ in 0..<2_000 {
            var body = ""
            for _ in 0..<Int(random.next() % 40) { body += pieces[Int(random.next() % UInt64(pieces.count))] }
            var bytes = Array(body.utf8)
            if random.next() % 4 == 0 { bytes += (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
            guard let summary = ErrorPageText.summary(Data(bytes)) else { continue }
            XCTAssertLessThanOrEqual(summary.count, ErrorPageText.limit)
            XCTAssertFalse(summary.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, summary.debugDescription)
            XCTAssertFalse(summary.contains("\n"))
        }
        let huge = Data(("<html><body>" + String(repeating: "word ", count: 100_000) + "</body></html>").utf8)
        XCTAssertEqual(ErrorPageText.summary(huge)?.count, ErrorPageText.limit)
    }
}
