/// Which Hub provider is asking: the same engine serves both, with different default file sets.
enum HubFlavor: Sendable {
    case huggingface
    case mlx

    var providerName: String {
        switch self {
        case .huggingface: return "huggingface"
        case .mlx: return "mlx"
        }
    }

    /// mlx-lm's `DEFAULT_ALLOW_PATTERNS` (mlx_lm/utils.py): what `mlx_lm.load` fetches.
    static let mlxDefaultInclude = ["*.json", "model*.safetensors", "*.py", "tokenizer.model", "*.tiktoken",
                                    "tiktoken.model", "*.txt", "*.jsonl", "*.jinja"]
}

/// Turns a repo listing into the files to fetch: include/exclude globs, then GGUF quant choice
/// (huggingface) or the MLX weights check (mlx).
struct HubFileSelection {
    let flavor: HubFlavor
    let reference: HubModelReference
    let include: [String]
    let exclude: [String]

    func select(from listing: [HubFile], commit: String) throws(DownloadFailure) -> [HubFile] {
        let model = reference.repoId
        let allow = include.isEmpty && flavor == .mlx ? HubFlavor.mlxDefaultInclude : include
        let filter = HubFileFilter(allow: allow, ignore: exclude)
        var chosen = listing.filter { filter.accepts($0.path) }

        switch flavor {
        case .mlx:
            guard listing.contains(where: { $0.path.hasSuffix(".safetensors") }) else {
                let hasGGUF = listing.contains { GGUFSelector.isGGUF($0.path) }
                throw DownloadFailure(.notFound,
                    "Model '\(model)' has no MLX weights: the repo holds no .safetensors files at commit \(commit.prefix(12))."
                    + (hasGGUF ? " It holds GGUF files: use provider 'huggingface' with '\(model):QUANT' for llama.cpp-style runtimes."
                               : " Use an MLX conversion (for example from the mlx-community organisation)."),
                    retryable: false)
            }
        case .huggingface:
            if isGGUFRequest(chosen) { chosen = try pickGGUF(from: chosen, commit: commit) }
        }

        guard !chosen.isEmpty else {
            var patterns: [String] = []
            if !allow.isEmpty { patterns.append("include \(allow)") }
            if !exclude.isEmpty { patterns.append("exclude \(exclude)") }
            throw DownloadFailure(.notFound,
                "No file of '\(model)' at commit \(commit.prefix(12)) matches \(patterns.isEmpty ? "the request" : patterns.joined(separator: " and ")): the repo has \(listing.count) file(s). Check the patterns (globs are case-sensitive; '*' also matches '/').",
                retryable: false, details: ["include": .strings(allow), "exclude": .strings(exclude)])
        }
        return chosen.sorted(by: HubFile.byPath)
    }

    /// A tag always selects a quant; without one, only a repo whose weights are all GGUF (and no
    /// explicit include list) does, so `org/repo` on a safetensors repo still means the whole repo.
    private func isGGUFRequest(_ files: [HubFile]) -> Bool {
        if reference.quantTag != nil { return true }
        guard include.isEmpty, !GGUFSelector.candidates(files).isEmpty else { return false }
        return !files.contains { $0.path.hasSuffix(".safetensors") }
    }

    private func pickGGUF(from files: [HubFile], commit: String) throws(DownloadFailure) -> [HubFile] {
        let model = reference.repoId
        if let picked = GGUFSelector.select(tag: reference.quantTag, from: files) { return picked }
        let available = GGUFSelector.availableTags(files)
        guard !available.isEmpty else {
            throw DownloadFailure(.notFound,
                "Model '\(model)' has no GGUF files at commit \(commit.prefix(12)), so ':\(reference.quantTag ?? "")' selects nothing. Drop the tag to download the repo's files.",
                retryable: false)
        }
        throw DownloadFailure(.notFound,
            "Model '\(model)' has no GGUF file for quant '\(reference.quantTag ?? "")'. Available: \(available.joined(separator: ", ")). Ask for one of them, like '\(model):\(available.first { $0.uppercased() == "Q4_K_M" } ?? available[0])'.",
            retryable: false, details: ["available": .strings(available)])
    }
}
