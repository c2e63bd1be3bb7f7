import Foundation

/// `model` for the Hub providers: `org/name` or a legacy owner-less `name` (`gpt2`,
/// `bert-base-uncased`: the Hub still serves them, redirecting to the new owner, and
/// transformers caches hold `models--gpt2`), optionally `:QUANT` to pick a GGUF quant. The rules
/// are huggingface_hub's `validate_repo_id` (letters, digits, `-`, `_`, `.`; at most 96
/// characters per part; no `--` or `..`; no leading or trailing `-`/`.`; the namespace
/// optional), so a malformed id fails at once instead of as a confusing 404 later.
struct HubModelReference: Sendable, Equatable {
    var repoId: String
    /// The GGUF quant asked for (`Q4_K_M`), as written.
    var quantTag: String?

    init(parsing model: String, provider: String) throws(DownloadFailure) {
        let trimmed = model.trimmingCharacters(in: .whitespaces)
        var id = Substring(trimmed)
        var tag: String?
        if let colon = trimmed.lastIndex(of: ":") {
            id = trimmed[..<colon]
            let rawTag = String(trimmed[trimmed.index(after: colon)...])
            guard !rawTag.isEmpty, rawTag.count <= 64,
                  rawTag.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }) else {
                throw Self.invalid(model, provider, "the quant tag after ':' must be letters, digits, '_', '-' or '.', like Q4_K_M")
            }
            tag = rawTag
        }
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw Self.invalid(model, provider, "expected 'org/name' or 'name', with one '/' at most")
        }
        for part in parts {
            if let problem = Self.problem(with: part) { throw Self.invalid(model, provider, problem) }
        }
        repoId = String(id)
        quantTag = tag
    }

    private static func problem(with part: Substring) -> String? {
        if part.isEmpty { return "an empty organisation or name" }
        if part.count > 96 { return "each part is at most 96 characters" }
        guard part.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }) else {
            return "only letters, digits, '-', '_' and '.' are allowed"
        }
        if part.contains("--") || part.contains("..") { return "'--' and '..' are not allowed" }
        if let first = part.first, let last = part.last, "-.".contains(first) || "-.".contains(last) {
            return "a part cannot start or end with '-' or '.'"
        }
        if part.hasSuffix(".git") { return "a name cannot end in .git" }
        return nil
    }

    private static func invalid(_ model: String, _ provider: String, _ why: String) -> DownloadFailure {
        DownloadFailure(.invalidModel,
            "'\(model)' is not a Hugging Face model id (\(why)). For provider '\(provider)', `model` is 'org/name'"
            + (provider == "huggingface" ? " or 'org/name:QUANT' for a GGUF quant, like bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M." : ", like mlx-community/Llama-3.2-1B-Instruct-4bit."))
    }
}

/// A revision names a branch, tag, `refs/pr/N` or commit; it also becomes a path under
/// `refs/`, so it must be a safe relative path.
enum HubRevision {
    static let defaultBranch = "main"

    static func validate(_ revision: String) throws(DownloadFailure) {
        let ok = (try? SafePath.validate(revision, what: "revision")) != nil
            && !revision.contains(" ") && revision.utf8.count <= 255
        guard ok else {
            throw DownloadFailure(.invalidModel,
                "`revision` \(revision.debugDescription) is not a branch, tag or commit name: use something like 'main', 'v1.0', 'refs/pr/1' or a 40-character commit id.")
        }
    }
}
