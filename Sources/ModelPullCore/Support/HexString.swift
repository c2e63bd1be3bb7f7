/// Lowercase hexadecimal identifiers as git and the Hub write them (commit ids, blob names).
enum HexString {
    static func isHex(_ text: String, length: Int) -> Bool {
        text.utf8.count == length && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        }
    }

    /// A full commit id: what `refs/*` hold and snapshots are named after.
    static func isCommit(_ text: String) -> Bool { isHex(text, length: 40) }

    /// A blob name: a 40-hex git id or a 64-hex SHA-256.
    static func isEtag(_ text: String) -> Bool { isHex(text, length: 40) || isHex(text, length: 64) }
}
