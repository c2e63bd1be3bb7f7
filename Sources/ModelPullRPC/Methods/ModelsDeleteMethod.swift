import Foundation
import ModelPullCore

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
