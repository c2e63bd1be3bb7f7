import Foundation
import ModelPullCore

/// `models/list {provider?}`: what is on this machine, from every provider that keeps a store
/// (or just the one asked for).
enum ModelsListMethod {
    static func handle(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        var reader = try ParamsReader(params)
        let providerName = try reader.string("provider")
        let query = LocalModelQuery(cacheDir: try reader.string("cacheDir"), baseURL: try reader.string("baseUrl"))
        try reader.rejectUnknownFields()
        let context = await server.engine.providerContext
        let stores = try await storesToAsk(server, providerName)
        var models: [JSONValue] = []
        for (name, store) in stores {
            do {
                models += try await store.listLocalModels(query, context: context).map(encode)
            } catch let failure as DownloadFailure {
                // Asked for one provider: its failure is the answer. Asked for all: skip the
                // ones that cannot answer (an Ollama server that is not running).
                if providerName != nil { throw RPCError.application(failure, provider: name) }
                server.log(.info, "models/list: \(name) skipped: \(failure.message)")
            }
        }
        return ["models": .array(models)]
    }

    static func storesToAsk(_ server: RPCServer, _ name: String?) async throws -> [(String, any LocalModelStore)] {
        let providers = await server.engine.registeredProviders
        if let name {
            guard let provider = providers.first(where: { $0.name == name }) else {
                throw RPCError.application(DownloadFailure(.unsupportedProvider,
                    "Unknown provider '\(name)'. Use one of: \(providers.map(\.name).joined(separator: ", ")).")) 
            }
            guard let store = provider as? any LocalModelStore else {
                throw RPCError.application(DownloadFailure(.unsupportedProvider,
                    "Provider '\(name)' keeps no local model list; its files are where each download put them."))
            }
            return [(name, store)]
        }
        return providers.compactMap { provider in (provider as? any LocalModelStore).map { (provider.name, $0) } }
    }

    static func encode(_ model: LocalModel) -> JSONValue {
        var object: JSONObject = [
            "provider": .string(model.provider),
            "model": .string(model.model),
        ]
        if let path = model.path { object["path"] = .string(path) }
        object["sizeBytes"] = .integer(model.sizeBytes)
        object["complete"] = .bool(model.complete)
        if let revisions = model.revisions {
            object["revisions"] = .array(revisions.map { revision in
                var entry: JSONObject = [:]
                if let name = revision.revision { entry["revision"] = .string(name) }
                entry["commit"] = .string(revision.commit)
                entry["files"] = .integer(Int64(revision.files))
                entry["sizeBytes"] = .integer(revision.sizeBytes)
                return .object(entry)
            })
        }
        if let digest = model.digest { object["digest"] = .string(digest) }
        if let modified = model.modifiedAt { object["modifiedAt"] = .string(WireEncoding.iso8601(modified)) }
        if !model.details.isEmpty {
            var details = JSONObject()
            for key in model.details.keys.sorted() { details[key] = WireEncoding.detail(model.details[key]!) }
            object["details"] = .object(details)
        }
        return .object(object)
    }
}

/// `models/delete {provider, model}`: removes a local model.
enum ModelsDeleteMethod {
    static func handle(_ server: RPCServer, _ id: RequestID, _ params: JSONValue?) async throws -> JSONValue {
        var reader = try ParamsReader(params)
        let providerName = try reader.requiredString("provider")
        let model = try reader.requiredString("model")
        let query = LocalModelQuery(cacheDir: try reader.string("cacheDir"), baseURL: try reader.string("baseUrl"))
        try reader.rejectUnknownFields()
        let (_, store) = try await ModelsListMethod.storesToAsk(server, providerName)[0]
        let context = await server.engine.providerContext
        let result: DeletionResult
        do {
            result = try await store.deleteLocalModel(model, query: query, context: context)
        } catch let failure as DownloadFailure {
            throw RPCError.application(failure, provider: providerName, model: model)
        }
        var object: JSONObject = ["provider": .string(providerName), "model": .string(model), "deleted": .bool(result.deleted)]
        if let freed = result.freedBytes { object["freedBytes"] = .integer(freed) }
        if let message = result.message { object["message"] = .string(message) }
        return .object(object)
    }
}
