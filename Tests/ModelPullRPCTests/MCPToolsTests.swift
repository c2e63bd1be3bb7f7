import Foundation
import ModelPullCore
@testable import ModelPullRPC
import XCTest

/// The MCP tools stay in step with the engine: `download_model` takes every download parameter
/// (adding one to `DownloadParameter` without the tool fails here) and lists every provider.
final class MCPToolsTests: XCTestCase {
    func testDownloadModelTakesEveryDownloadParameterAndProvider() throws {
        let schema = MCPTools.downloadModel.inputSchema
        let properties = try XCTUnwrap(schema["properties"]?.objectValue)
        XCTAssertEqual(Set(properties.keys), Set(DownloadParameter.allCases.map(\.rawValue)).union(["provider", "model"]))
        XCTAssertEqual(properties["provider"]?["enum"]?.arrayValue?.compactMap(\.stringValue), ProviderRegistry.builtIn.names)
    }
}
