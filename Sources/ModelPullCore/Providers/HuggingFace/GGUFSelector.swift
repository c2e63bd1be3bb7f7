import Foundation

/// Picks the GGUF file(s) for `org/repo[:QUANT]`, as llama.cpp's `-hf` does: the first `.gguf`
/// (by path) whose path carries the tag as a whole word followed by `.`, `-` or `/`, compared
/// case-insensitively; every shard of a split file (`-00001-of-00003.gguf`); without a tag,
/// Q4_K_M, then Q8_0, then the first GGUF. Projectors and importance matrices are not models.
enum GGUFSelector {
    static let defaultTags = ["Q4_K_M", "Q8_0"]

    static func isGGUF(_ path: String) -> Bool { path.lowercased().hasSuffix(".gguf") }

    /// GGUF files that are a model (not `mmproj`/`imatrix` side files), sorted by path.
    static func candidates(_ files: [HubFile]) -> [HubFile] {
        files.filter { file in
            let lower = file.path.lowercased()
            return isGGUF(lower) && !lower.contains("mmproj") && !lower.contains("imatrix")
        }.sorted(by: HubFile.byPath)
    }

    /// The selection, or nil when `tag` matches nothing (the caller lists `availableTags`).
    static func select(tag: String?, from files: [HubFile]) -> [HubFile]? {
        let models = candidates(files)
        guard !models.isEmpty else { return nil }
        let chosen: HubFile?
        if let tag {
            chosen = models.first { matches($0.path, tag: tag) }
        } else {
            chosen = defaultTags.lazy.compactMap { tag in models.first { matches($0.path, tag: tag) } }.first
                ?? models.first
        }
        guard let chosen else { return nil }
        return shards(of: chosen, among: models)
    }

    /// The quant labels present, for an error that says what to ask for instead.
    static func availableTags(_ files: [HubFile]) -> [String] {
        var seen = Set<String>()
        var tags: [String] = []
        for file in candidates(files) {
            let label = quantLabel(file.path)
            if seen.insert(label.uppercased()).inserted { tags.append(label) }
        }
        return tags.sorted { $0.uppercased() < $1.uppercased() }
    }

    // MARK: Pieces

    static func matches(_ path: String, tag: String) -> Bool {
        let text = Array(path.lowercased())
        let needle = Array(tag.lowercased())
        guard !needle.isEmpty, text.count >= needle.count else { return false }
        for start in 0...(text.count - needle.count) where text[start..<(start + needle.count)].elementsEqual(needle) {
            let before: Character? = start > 0 ? text[start - 1] : nil
            let after: Character? = start + needle.count < text.count ? text[start + needle.count] : nil
            let boundaryBefore = before.map { "-_./".contains($0) } ?? true
            let boundaryAfter = after.map { ".-/".contains($0) } ?? false
            if boundaryBefore && boundaryAfter { return true }
        }
        return false
    }

    /// `name-00001-of-00003.gguf` → (`name`, `00003`); nil for a single-file GGUF.
    static func splitInfo(_ path: String) -> (prefix: String, count: String)? {
        guard path.lowercased().hasSuffix(".gguf") else { return nil }
        let stem = Array(path.dropLast(5))
        // "-NNNNN-of-NNNNN": llama.cpp's split naming, 15 characters.
        guard stem.count > 15 else { return nil }
        let tail = Array(stem[(stem.count - 15)...])
        guard tail[0] == "-", tail[1...5].allSatisfy(\.isNumber),
              String(tail[6...9]).lowercased() == "-of-", tail[10...14].allSatisfy(\.isNumber) else { return nil }
        return (String(stem[..<(stem.count - 15)]), String(tail[10...14]))
    }

    private static func shards(of chosen: HubFile, among models: [HubFile]) -> [HubFile] {
        guard let split = splitInfo(chosen.path) else { return [chosen] }
        return models.filter { file in
            guard let other = splitInfo(file.path) else { return false }
            return other.prefix == split.prefix && other.count == split.count
        }
    }

    /// The quant part of a file name: the last `-` or `.` separated word of its stem
    /// (`Llama-3.2-1B-Instruct-Q4_K_M.gguf` → `Q4_K_M`).
    static func quantLabel(_ path: String) -> String {
        var stem = (path as NSString).lastPathComponent
        if let split = splitInfo(stem) { stem = split.prefix } else { stem = String(stem.dropLast(5)) }
        let word = stem.split(whereSeparator: { $0 == "-" || $0 == "." }).last.map(String.init) ?? stem
        return word.isEmpty ? stem : word
    }
}
