import Foundation

/// Where huggingface_hub keeps its files, resolved from the environment exactly as the Python
/// library does (`constants.py`), so both tools read and write the same cache.
public enum HubCacheLocation {
    /// `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
    public static func home(_ environment: ProcessEnvironment) -> String {
        if let home = environment["HF_HOME"] { return expand(home, environment) }
        return (environment.cacheHome as NSString).appendingPathComponent("huggingface")
    }

    /// The hub cache: the request's `cacheDir`, else `HF_HUB_CACHE`, else the legacy
    /// `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`.
    public static func hubCache(_ environment: ProcessEnvironment, override: String? = nil) -> String {
        if let override, !override.isEmpty { return expand(override, environment) }
        if let cache = environment["HF_HUB_CACHE"] ?? environment["HUGGINGFACE_HUB_CACHE"] {
            return expand(cache, environment)
        }
        return (home(environment) as NSString).appendingPathComponent("hub")
    }

    /// The stored token file: `HF_TOKEN_PATH`, else `$HF_HOME/token`.
    public static func tokenFile(_ environment: ProcessEnvironment) -> String {
        if let path = environment["HF_TOKEN_PATH"] { return expand(path, environment) }
        return (home(environment) as NSString).appendingPathComponent("token")
    }

    /// Python applies `os.path.expanduser(os.path.expandvars(value))`; so do we, against the
    /// captured environment rather than the process's.
    static func expand(_ value: String, _ environment: ProcessEnvironment) -> String {
        var result = ""
        var index = value.startIndex
        while index < value.endIndex {
            let character = value[index]
            guard character == "$" else {
                result.append(character)
                index = value.index(after: index)
                continue
            }
            let next = value.index(after: index)
            var nameEnd = next
            var name: Substring
            if next < value.endIndex, value[next] == "{", let close = value[next...].firstIndex(of: "}") {
                name = value[value.index(after: next)..<close]
                nameEnd = value.index(after: close)
            } else {
                while nameEnd < value.endIndex, value[nameEnd].isLetter || value[nameEnd].isNumber || value[nameEnd] == "_" {
                    nameEnd = value.index(after: nameEnd)
                }
                name = value[next..<nameEnd]
            }
            // Unknown variables stay as written, like expandvars.
            if !name.isEmpty, let replacement = environment.variables[String(name)] {
                result += replacement
            } else {
                result += value[index..<nameEnd]
            }
            index = nameEnd
        }
        if result == "~" { return environment.homeDirectory }
        if result.hasPrefix("~/") { return environment.homeDirectory + result.dropFirst() }
        return result
    }
}
