import Foundation

/// An Ollama model reference, `[scheme://][host/][namespace/][kind/]model[:tag]`, parsed and
/// checked with the rules of Ollama's `types/model/name.go` (`ParseName` then `IsValid`), so a
/// name the server would answer with 400 "invalid model name" is refused before any job starts.
///
/// Defaults fill what is missing: host `registry.ollama.ai`, namespace `library`, tag `latest`.
/// `hf.co/{user}/{repo}:{quant}` is simply a name whose host is `hf.co`.
struct OllamaModelName: Equatable {
    var host: String
    var namespace: String
    /// `skill`, `agent` or `mcp` for Ollama's non-model artefacts; empty for models.
    var kind: String
    var model: String
    var tag: String

    static let defaultHost = "registry.ollama.ai"
    static let defaultNamespace = "library"
    static let defaultTag = "latest"
    private static let kinds: Set<String> = ["skill", "agent", "mcp"]
    /// What Ollama puts in a part that a separator promised but the text left empty ("a/:b").
    private static let missing = "!MISSING!"

    /// Parses and validates; the error says which part is wrong and why.
    static func parse(_ text: String) -> Result<OllamaModelName, OllamaNameProblem> {
        var name = bare(text)
        name.host = name.host.isEmpty ? defaultHost : name.host
        name.namespace = name.namespace.isEmpty ? defaultNamespace : name.namespace
        name.tag = name.tag.isEmpty ? defaultTag : name.tag
        for (part, value) in [(Part.host, name.host), (.namespace, name.namespace), (.model, name.model), (.tag, name.tag)] {
            if let problem = check(part, value) { return .failure(problem) }
        }
        return .success(name)
    }

    /// `ParseNameBare`: splits on the last ':' (only when it follows the last '/', so a
    /// `host:port/` stays whole) and then on '/' from the right.
    private static func bare(_ text: String) -> OllamaModelName {
        var name = OllamaModelName(host: "", namespace: "", kind: "", model: "", tag: "")
        var rest = Substring(text)
        let lastColon = rest.lastIndex(of: ":")
        let lastSlash = rest.lastIndex(of: "/")
        if let lastColon, lastSlash.map({ lastColon > $0 }) ?? true {
            (rest, name.tag) = cutPromised(rest, at: lastColon)
        }
        guard let slash = rest.lastIndex(of: "/") else {
            name.model = String(rest)
            return name
        }
        (rest, name.model) = cutPromised(rest, at: slash)
        guard let second = rest.lastIndex(of: "/") else {
            name.namespace = String(rest)
            return name
        }
        var middle: String
        (rest, middle) = cutPromised(rest, at: second)
        if !kinds.contains(middle) {
            // Three parts: host/namespace/model, the host possibly behind a scheme.
            name.namespace = middle
            name.host = hostPart(rest)
            return name
        }
        name.kind = middle
        guard let third = rest.lastIndex(of: "/") else {
            name.namespace = String(rest)
            return name
        }
        (rest, middle) = cutPromised(rest, at: third)
        name.namespace = middle
        name.host = hostPart(rest)
        return name
    }

    private static func hostPart(_ text: Substring) -> String {
        guard let separator = text.range(of: "://") else { return String(text) }
        return String(text[separator.upperBound...])
    }

    private static func cutPromised(_ text: Substring, at index: Substring.Index) -> (Substring, String) {
        let before = text[..<index]
        let after = text[text.index(after: index)...]
        return (before.isEmpty ? Substring(missing) : before, after.isEmpty ? missing : String(after))
    }

    private enum Part: String {
        case host, namespace, model, tag

        var maxLength: Int { self == .host ? 350 : 80 }
        var allowedPunctuation: String {
            switch self {
            case .host: return "_-.:"
            case .namespace: return "_-"
            case .model, .tag: return "_-."
            }
        }
    }

    private static func check(_ part: Part, _ value: String) -> OllamaNameProblem? {
        let bytes = Array(value.utf8)
        if value == missing || bytes.isEmpty {
            return OllamaNameProblem(part: part.rawValue, value: "", reason: "is empty")
        }
        if bytes.count > part.maxLength {
            return OllamaNameProblem(part: part.rawValue, value: value, reason: "is longer than \(part.maxLength) characters")
        }
        let punctuation = Set(part.allowedPunctuation.utf8)
        for (index, byte) in bytes.enumerated() {
            let alphanumeric = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            let allowed = alphanumeric || byte == UInt8(ascii: "_") || (index > 0 && punctuation.contains(byte))
            if !allowed {
                let listed = part.allowedPunctuation.map { "'\($0)'" }.joined(separator: ", ")
                return OllamaNameProblem(part: part.rawValue, value: value,
                    reason: "may only hold letters, digits and \(listed), and must start with a letter, digit or '_'")
            }
        }
        return nil
    }
}

/// Why a name is not a valid Ollama model name, in words for the error message.
struct OllamaNameProblem: Error, Equatable {
    var part: String
    var value: String
    var reason: String

    var description: String {
        value.isEmpty ? "its \(part) \(reason)" : "its \(part) '\(value)' \(reason)"
    }
}
