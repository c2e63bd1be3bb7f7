/// A path compared, hashed and ordered by its exact UTF-8 bytes.
///
/// Swift's `String` equality is canonical equivalence: `"café"` with a precomposed `é` (NFC)
/// and with `e` + U+0301 (NFD) are equal Strings, yet they are two different files to git, the
/// Hub, Linux and huggingface_hub. Wherever a path is a key (sets, dictionaries, de-duplication,
/// sorting), a `String` would silently merge such a pair and drop one file. Use this instead.
struct ExactPath: Hashable, Comparable, Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    init(_ path: String) { bytes = Array(path.utf8) }

    var string: String { String(decoding: bytes, as: UTF8.self) }
    var description: String { string }

    /// Byte order: deterministic, and what huggingface_hub's `sorted()` of UTF-8 paths gives
    /// for everything but surrogates.
    static func < (lhs: ExactPath, rhs: ExactPath) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}

extension String {
    /// Equal as bytes, not merely canonically equivalent (see `ExactPath`).
    func isByteEqual(to other: String) -> Bool { utf8.elementsEqual(other.utf8) }

    /// `hasPrefix` on bytes: `String.hasPrefix` compares grapheme clusters, so a combining mark
    /// after the prefix's last character would hide the prefix.
    func hasBytePrefix(_ prefix: String) -> Bool { utf8.starts(with: prefix.utf8) }

    func hasByteSuffix(_ suffix: String) -> Bool { utf8.reversed().starts(with: suffix.utf8.reversed()) }
}
