import Foundation
import ModelPullCore
import ModelPullRPC

/// `modelpull list`: the models on this machine, as a table (or `--json`, as `models/list`).
enum ListCommand {
    static func run(_ options: ListOptions) async -> Int32 {
        let engine = CommandEngine.make(logLevel: .warning)
        var models: [LocalModel] = []
        do {
            for (name, store) in try engine.registry.localModelStores(named: options.provider) {
                do {
                    models += try await store.listLocalModels(options.query, context: await engine.providerContext)
                } catch let failure as DownloadFailure where options.provider == nil {
                    // Asked for everything: a store that cannot answer (no Ollama running) is
                    // skipped, and said so.
                    Console.error("modelpull: skipped \(name): \(TerminalText.printable(CommandLineWording.rewrite(failure.message)))")
                }
            }
        } catch {
            Console.error("modelpull: \(TerminalText.printable(CommandLineWording.rewrite(error.message)))")
            return (error as? DownloadFailure)?.kind == .unsupportedProvider ? 2 : 1
        }
        if options.json {
            Console.write(STDOUT_FILENO, JSONWriter().encodeString(["models": .array(models.map(WireEncoding.localModel))]) + "\n")
            return 0
        }
        guard !models.isEmpty else {
            Console.error("No models found\(options.provider.map { " for \($0)" } ?? "").")
            return 0
        }
        let rows = models.map { model in
            [model.provider, TerminalText.printable(model.model) + (model.complete ? "" : " (incomplete)"),
             ByteFormat.string(model.sizeBytes), model.modifiedAt.map(Self.day) ?? ""]
        }
        Console.write(STDOUT_FILENO, Table(header: ["PROVIDER", "MODEL", "SIZE", "MODIFIED"], rows: rows).text)
        return 0
    }

    private static func day(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }
}

/// `modelpull rm`: removes one model and says what that freed.
enum RemoveCommand {
    static func run(_ options: RemoveOptions) async -> Int32 {
        let engine = CommandEngine.make(logLevel: .warning)
        do {
            let (_, store) = try engine.registry.localModelStores(named: options.provider)[0]
            let result = try await store.deleteLocalModel(options.model, query: options.query,
                                                          context: await engine.providerContext)
            let freed = result.freedBytes.map { ", freed \(ByteFormat.string($0))" } ?? ""
            Console.error(result.message.map { CommandLineWording.rewrite($0) }
                ?? (result.deleted ? "Removed \(options.model)\(freed)." : "\(options.model) was not there."))
            return 0
        } catch {
            Console.error("modelpull: \(TerminalText.printable(CommandLineWording.rewrite(error.message)))")
            let kind = (error as? DownloadFailure)?.kind
            return kind == .unsupportedProvider || kind == .invalidModel ? 2 : 1
        }
    }
}

/// `modelpull providers`: each provider, whether it can serve now, and why not.
enum ProvidersCommand {
    static func run(_ options: ProvidersOptions) async -> Int32 {
        let engine = CommandEngine.make(logLevel: .warning)
        let entries = await engine.providerStatus()
        if options.json {
            let list = entries.map { WireEncoding.provider(name: $0.name, summary: $0.summary, availability: $0.availability) }
            Console.write(STDOUT_FILENO, JSONWriter().encodeString(["providers": .array(list)]) + "\n")
            return 0
        }
        let rows = entries.map { name, summary, availability in
            [name, availability.available ? "ready" : "unavailable",
             availability.available ? summary : TerminalText.printable(CommandLineWording.rewrite(availability.reason ?? summary))]
        }
        Console.write(STDOUT_FILENO, Table(header: ["PROVIDER", "STATUS", "DETAILS"], rows: rows).text)
        return 0
    }
}

/// Left-aligned columns two spaces apart, for a person's eyes (programs use `--json`).
struct Table {
    var header: [String]
    var rows: [[String]]

    var text: String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { TerminalText.width($0[column]) }.max() ?? 0 }
        return all.map { row in
            row.indices.map { column in
                column == row.count - 1 ? row[column]
                    : row[column] + String(repeating: " ", count: widths[column] - TerminalText.width(row[column]))
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
