import Foundation

/// The body of `GET /api/tags`, and its translation into `models/list` entries.
struct OllamaTags: Decodable {
    struct Model: Decodable {
        var name: String?
        var model: String?
        var modifiedAt: String?
        var size: Int64?
        var digest: String?
        var details: Details?
        var capabilities: [String]?

        enum CodingKeys: String, CodingKey {
            case name, model, size, digest, details, capabilities
            case modifiedAt = "modified_at"
        }
    }

    struct Details: Decodable {
        var parentModel: String?
        var format: String?
        var family: String?
        var families: [String]?
        var parameterSize: String?
        var quantizationLevel: String?

        enum CodingKeys: String, CodingKey {
            case format, family, families
            case parentModel = "parent_model"
            case parameterSize = "parameter_size"
            case quantizationLevel = "quantization_level"
        }
    }

    var models: [Model]?

    /// Entries for `models/list`. Ollama's own key names are kept in `details` so clients that
    /// already know them need no mapping.
    var localModels: [LocalModel] {
        (models ?? []).compactMap { entry in
            guard let name = entry.name ?? entry.model, !name.isEmpty else { return nil }
            var details: [String: DownloadFailure.DetailValue] = [:]
            let fields: [(String, String?)] = [
                ("family", entry.details?.family), ("format", entry.details?.format),
                ("parameter_size", entry.details?.parameterSize),
                ("quantization_level", entry.details?.quantizationLevel),
                ("parent_model", entry.details?.parentModel),
            ]
            for (key, value) in fields { if let value, !value.isEmpty { details[key] = .string(value) } }
            if let families = entry.details?.families, !families.isEmpty { details["families"] = .strings(families) }
            if let capabilities = entry.capabilities, !capabilities.isEmpty { details["capabilities"] = .strings(capabilities) }
            return LocalModel(provider: "ollama", model: name, sizeBytes: max(0, entry.size ?? 0), complete: true,
                              digest: entry.digest, modifiedAt: entry.modifiedAt.flatMap(GoTime.parse),
                              details: details)
        }
    }
}
