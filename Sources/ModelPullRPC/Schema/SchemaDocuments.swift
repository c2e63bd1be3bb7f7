/// The protocol documents compiled into the binary (generated from schema/v1 by
/// scripts/embed_schema.py), served by `rpc.discover` and printed by `modelpull schema`.
public enum SchemaDocuments {
    /// Paths relative to schema/v1, sorted.
    public static var paths: [String] { EmbeddedSchema.files.keys.sorted() }

    public static func text(_ path: String) -> String? {
        EmbeddedSchema.files[path]
    }

    /// The OpenRPC document, parsed.
    static func openRPC() throws(RPCError) -> JSONValue {
        guard let text = EmbeddedSchema.files["openrpc.json"] else {
            throw .internalError("the OpenRPC document is missing from this build")
        }
        do {
            return try JSONParser(maxDepth: 512).parse(text)
        } catch {
            throw .internalError("the embedded OpenRPC document does not parse: \(error.message)")
        }
    }
}
