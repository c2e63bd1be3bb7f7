import Foundation
import ModelPullCore

/// The engine's messages name things as the protocol does (`fileName`, `models/delete`); a
/// person at the command line types flags and commands. This rewrites one into the other, so
/// every message the command line shows names what the person can type.
enum CommandLineWording {
    static func rewrite(_ message: String) -> String {
        var text = message
        for flag in PullFlag.all where flag.value != nil {
            // `source: "registry"` → --source registry
            let pattern = "`\(flag.parameter.rawValue): \"([^\"`]*)\"`"
            if let regex = try? NSRegularExpression(pattern: pattern) {
                text = regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text),
                                                      withTemplate: NSRegularExpression.escapedTemplate(for: flag.flag) + " $1")
            }
        }
        for flag in PullFlag.all {
            let field = "`\(flag.parameter.rawValue)`"
            text = text.replacingOccurrences(of: flag.value == nil ? "`\(flag.parameter.rawValue): true`" : field, with: flag.flag)
            text = text.replacingOccurrences(of: field, with: flag.flag)
        }
        for (method, command) in [("models/delete", "modelpull rm"), ("models/list", "modelpull list"),
                                  ("providers/list", "modelpull providers"), ("models/download", "modelpull pull")] {
            text = text.replacingOccurrences(of: method, with: "`\(command)`")
        }
        return text.replacingOccurrences(of: "`model`", with: "the model").replacingOccurrences(of: "`provider`", with: "the provider")
    }
}
