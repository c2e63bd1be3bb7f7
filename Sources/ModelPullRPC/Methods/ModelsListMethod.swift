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
