import Foundation

/// What an error body says, in a few plain words: the `error`/`message`/`detail` of a JSON body,
/// the visible text of an HTML page (never its markup), else the first line of text. Bounded and
/// free of control characters, since it ends up in messages a person reads and a terminal shows.
enum ErrorPageText {
    static let limit = 200

    static func summary(_ body: Data) -> String? {
        guard !body.isEmpty else { return nil }
        if let object = try? JSONSerialization.jsonObject(with: body.prefix(64 << 10)) as? [String: Any] {
            for key in ["error", "message", "detail"] {
                if let text = object[key] as? String { return bounded(text) }
            }
        }
        let text = String(decoding: body.prefix(64 << 10), as: UTF8.self)
        if looksLikeHTML(text) { return bounded(visibleText(ofHTML: text)) }
        return bounded(text.split(whereSeparator: \.isNewline).first.map(String.init) ?? "")
    }

    private static func looksLikeHTML(_ text: String) -> Bool {
        let start = text.drop { $0.isWhitespace }.prefix(512).lowercased()
        return start.hasPrefix("<!doctype") || start.hasPrefix("<html") || start.hasPrefix("<head") || start.hasPrefix("<body")
            || start.hasPrefix("<?xml") || (start.hasPrefix("<") && start.contains("</"))
    }

    /// The page's text as a browser would show it, on one line: the body's (or the whole
    /// page's) text without tags, scripts, styles or comments, entities decoded.
    static func visibleText(ofHTML html: String) -> String {
        var text = html
        if let body = text.range(of: "<body", options: .caseInsensitive) { text = String(text[body.lowerBound...]) }
        for (open, close) in [("<script", "</script>"), ("<style", "</style>"), ("<!--", "-->"), ("<head", "</head>")] {
            while let start = text.range(of: open, options: .caseInsensitive) {
                let end = text.range(of: close, options: .caseInsensitive, range: start.upperBound..<text.endIndex)
                text.removeSubrange(start.lowerBound..<(end?.upperBound ?? text.endIndex))
            }
        }
        var plain = ""
        var inTag = false
        for character in text {
            if character == "<" { inTag = true; plain.append(" ") } else if character == ">" { inTag = false } else if !inTag { plain.append(character) }
        }
        for (entity, character) in [("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&apos;", "'"), ("&amp;", "&")] {
            plain = plain.replacingOccurrences(of: entity, with: character)
        }
        return plain
    }

    /// One line of at most `limit` characters, controls and runs of white space as one space.
    private static func bounded(_ text: String) -> String? {
        var line = ""
        var lastWasSpace = true
        for scalar in text.unicodeScalars {
            let isSpace = scalar.properties.isWhitespace || scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
            if isSpace {
                if !lastWasSpace { line.append(" ") }
            } else {
                line.unicodeScalars.append(scalar)
            }
            lastWasSpace = isSpace
        }
        line = line.trimmingCharacters(in: .whitespaces)
        guard !line.isEmpty else { return nil }
        return line.count > limit ? String(line.prefix(limit - 1)) + "…" : line
    }
}
