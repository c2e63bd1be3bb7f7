import Foundation
import XCTest

/// A test case downloading `url` models into a fresh folder of its own, removed afterwards.
class URLTestCase: XCTestCase {
    /// The `localDir` of every download the test starts with `params`.
    var directory = ""

    override func setUp() {
        super.setUp()
        directory = makeTemporaryDirectory(name)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
        super.tearDown()
    }

    /// `models/download` params for `url` into `directory`, plus `extra`.
    func params(_ url: URL, _ extra: [String: Any] = [:]) -> [String: Any] {
        var params: [String: Any] = ["provider": "url", "model": url.absoluteString, "localDir": directory]
        for (key, value) in extra { params[key] = value }
        return params
    }
}
