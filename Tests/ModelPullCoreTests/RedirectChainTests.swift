import Foundation
@testable import ModelPullCore
import XCTest

/// The redirect rules both engines share, on their own: which hops are followed, when the token
/// stays behind, and where the chain ends.
final class RedirectChainTests: XCTestCase {
    private let hub = URL(string: "https://hub.example/api/x")!

    func testTheTokenStaysBehindForGoodOnceTheChainLeavesTheOrigin() throws {
        var chain = RedirectChain(HTTPRequest(url: hub, redirects: .follow))
        try chain.hop(to: URL(string: "https://hub.example/resolve/y")!)
        XCTAssertFalse(chain.authorizationDropped, "same origin keeps it")
        try chain.hop(to: URL(string: "https://cdn.example/blob")!)
        XCTAssertTrue(chain.authorizationDropped)
        try chain.hop(to: URL(string: "https://hub.example/back")!)
        XCTAssertTrue(chain.authorizationDropped, "coming back does not bring it back")
        XCTAssertTrue(chain.follows(URL(string: "http://anywhere.example/")!), ".follow follows anywhere")
    }

    func testPoliciesDecideWhichHopsAreFollowed() {
        let same = URL(string: "https://hub.example/other")!
        let other = URL(string: "https://cdn.example/blob")!
        let port = URL(string: "https://hub.example:8443/x")!
        let stop = RedirectChain(HTTPRequest(url: hub, redirects: .stopAtCrossOrigin))
        XCTAssertTrue(stop.follows(same))
        XCTAssertFalse(stop.follows(other))
        XCTAssertFalse(stop.follows(port), "another port is another origin")
        let never = RedirectChain(HTTPRequest(url: hub, redirects: .never))
        XCTAssertFalse(never.follows(same))
    }

    func testTheEleventhHopEndsTheChain() throws {
        var chain = RedirectChain(HTTPRequest(url: hub, redirects: .follow))
        for _ in 0..<RedirectChain.maximumHops { try chain.hop(to: hub) }
        XCTAssertThrowsError(try chain.hop(to: hub)) { error in
            XCTAssertEqual(error as? TransferError, .tooManyRedirects(11))
        }
    }
}
