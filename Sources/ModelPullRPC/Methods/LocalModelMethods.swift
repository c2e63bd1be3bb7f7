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
        let stores = try storesToAsk(server, providerName)
        var models: [JSONValue] = []
        for (name, store) in stores {
            do {
                models += try await store.listLocalModels(query, context: context).map(WireEncoding.localModel)
            } catch let failure as DownloadFailure {
                // Asked for one provider: its failure is the answer. Asked for all: skip the
                // ones that cannot answer (an Ollama server that is not running).
                if providerName != nil { throw RPCError.application(failure, provider: name) }
                server.log(.info, "models/list: \(name) skipped: \(failure.message)")
            }
        }
        return ["models": .array(models)]
    }

    static func storesToAsk(_ server: RPCServer, _ name: String?) throws -> [(name: String, store: any LocalModelStore)] {
        do {
            return try server.engine.registry.localModelStores(named: name)
        } catch {
            throw RPCError.application(error)
        }
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
        let (_, store) = try ModelsListMethod.storesToAsk(server, providerName)[0]
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
