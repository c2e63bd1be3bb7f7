/// A glob with the semantics huggingface_hub's `filter_repo_objects` gives `allow_patterns` and
/// `ignore_patterns`: Python's `fnmatch.fnmatchcase`, so matching is case-sensitive, `*` matches
/// any run of characters *including* `/`, `?` one character, `[abc]`/`[a-z]`/`[!abc]` a set; and a
/// pattern ending in `/` means everything under that folder.
///
/// Matching is on Unicode scalars (code points), as Python's is, never on `Character`s: a
/// grapheme cluster would make a pattern match a canonically equivalent but different name
/// (`café` in NFC matching the NFD file), or make `?` swallow a combining mark.
struct HubGlob: Sendable, Equatable {
    private enum Token: Equatable {
        case literal(Unicode.Scalar)
        case any        // ?
        case star       // *
        case set([ClosedRange<Unicode.Scalar>], negated: Bool)
    }

    let pattern: String
    private let tokens: [Token]

    init(_ pattern: String) {
        self.pattern = pattern
        tokens = Self.parse(pattern.utf8.last == UInt8(ascii: "/") ? pattern + "*" : pattern)
    }

    func matches(_ path: String) -> Bool {
        let text = Array(path.unicodeScalars)
        // Iterative wildcard matching: remember the last star and backtrack to it on a mismatch,
        // which is linear-ish and never recursive (patterns come from clients).
        var t = 0, p = 0
        var starToken = -1, starText = 0
        while t < text.count {
            if p < tokens.count, tokens[p] != .star, Self.single(tokens[p], matches: text[t]) {
                t += 1; p += 1
            } else if p < tokens.count, tokens[p] == .star {
                starToken = p; starText = t; p += 1
            } else if starToken >= 0 {
                p = starToken + 1; starText += 1; t = starText
            } else {
                return false
            }
        }
        while p < tokens.count, tokens[p] == .star { p += 1 }
        return p == tokens.count
    }

    private static func single(_ token: Token, matches character: Unicode.Scalar) -> Bool {
        switch token {
        case .literal(let expected): return expected == character
        case .any: return true
        case .star: return true
        case .set(let ranges, let negated): return ranges.contains { $0.contains(character) } != negated
        }
    }

    /// Follows `fnmatch.translate`: an unterminated `[` is a literal; `]` right after `[` or `[!`
    /// belongs to the set.
    private static func parse(_ pattern: String) -> [Token] {
        let chars = Array(pattern.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "*":
                if tokens.last != .star { tokens.append(.star) }
                i += 1
            case "?":
                tokens.append(.any)
                i += 1
            case "[":
                var j = i + 1
                if j < chars.count, chars[j] == "!" { j += 1 }
                if j < chars.count, chars[j] == "]" { j += 1 }
                while j < chars.count, chars[j] != "]" { j += 1 }
                guard j < chars.count else {
                    tokens.append(.literal("["))
                    i += 1
                    continue
                }
                var body = Array(chars[(i + 1)..<j])
                let negated = body.first == "!"
                if negated { body.removeFirst() }
                var ranges: [ClosedRange<Unicode.Scalar>] = []
                var k = 0
                while k < body.count {
                    if k + 2 < body.count, body[k + 1] == "-" {
                        if body[k] <= body[k + 2] { ranges.append(body[k]...body[k + 2]) }
                        k += 3
                    } else {
                        ranges.append(body[k]...body[k])
                        k += 1
                    }
                }
                tokens.append(.set(ranges, negated: negated))
                i = j + 1
            default:
                tokens.append(.literal(c))
                i += 1
            }
        }
        return tokens
    }
}

/// Allow and ignore lists together: a path passes if it matches any allow pattern (or there are
/// none) and no ignore pattern.
struct HubFileFilter: Sendable {
    let allow: [HubGlob]
    let ignore: [HubGlob]

    init(allow: [String], ignore: [String]) {
        self.allow = allow.map(HubGlob.init)
        self.ignore = ignore.map(HubGlob.init)
    }

    func accepts(_ path: String) -> Bool {
        (allow.isEmpty || allow.contains { $0.matches(path) }) && !ignore.contains { $0.matches(path) }
    }
}
