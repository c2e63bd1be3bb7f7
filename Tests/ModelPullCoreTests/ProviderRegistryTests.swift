import Foundation
import XCTest
@testable import ModelPullCore

/// The schema is the contract other programs are written against; the registry is what the build
/// serves. These hold the two equal, so adding a provider or a parameter cannot forget either.
final class ProviderRegistryTests: XCTestCase {
    func testTheSchemaProviderEnumIsTheBuiltInRegistry() throws {
        let defs = try schema("defs.schema.json")
        let definitions = try XCTUnwrap(defs["$defs"] as? [String: Any])
        let provider = try XCTUnwrap(definitions["Provider"] as? [String: Any])
        XCTAssertEqual(provider["enum"] as? [String], ProviderRegistry.builtIn.names)
    }

    func testEveryDownloadParameterIsInTheSchemaAndReadBySomeProvider() throws {
        let params = try schema("methods/models.download.params.schema.json")
        let properties = try XCTUnwrap(params["properties"] as? [String: Any])
        let declared = Set(DownloadParameter.allCases.map(\.rawValue)).union(["provider", "model", "_meta"])
        XCTAssertEqual(Set(properties.keys), declared)
        let registry = ProviderRegistry.builtIn
        for parameter in DownloadParameter.allCases {
            XCTAssertFalse(registry.names(reading: parameter).isEmpty, "no provider reads \(parameter)")
        }
    }

    func testProviderNamesAreUnique() {
        let names = ProviderRegistry.builtIn.names
        XCTAssertEqual(Set(names).count, names.count)
    }

    private func schema(_ path: String) throws -> [String: Any] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("schema/v1/\(path)"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}
