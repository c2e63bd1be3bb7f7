import Foundation
import ModelPullCore
import ModelPullRPC

// Entry point: parse the command line and hand over to the command. Nothing here writes to
// stdout except `schema`, `--version` and `--help`, which are for people.

// Read first, so a parent that dies while we start up is still noticed.
let parentAtLaunch = getppid()
MemoryTuning.apply()
let command: Command
do {
    command = try Command.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    Console.error("modelpull: \(error)")
    exit(2)
}

switch command {
case .serve(let options), .mcp(let options):
    ServeCommand.run(options, parentAtLaunch: parentAtLaunch)
case .pull(let options):
    PullCommand.run(options)
case .list(let options):
    runAsync { await ListCommand.run(options) }
case .remove(let options):
    runAsync { await RemoveCommand.run(options) }
case .providers(let options):
    runAsync { await ProvidersCommand.run(options) }
case .schema(let path):
    if path == "--list" {
        Console.write(STDOUT_FILENO, SchemaDocuments.paths.joined(separator: "\n") + "\n")
    } else if let text = SchemaDocuments.text(path ?? "openrpc.json") {
        Console.write(STDOUT_FILENO, text.hasSuffix("\n") ? text : text + "\n")
    } else {
        Console.error("modelpull: no schema file '\(path ?? "")'; `modelpull schema --list` shows them")
        exit(2)
    }
case .version:
    Console.write(STDOUT_FILENO, "modelpull \(ServerConfiguration.serverVersion) (protocol \(ServerConfiguration.protocolVersions.joined(separator: ", ")))\n")
case .help(let topic):
    Console.write(STDOUT_FILENO, HelpText.text(topic) + "\n")
}

/// Runs a short command on the concurrency runtime and exits with its status.
func runAsync(_ body: @escaping @Sendable () async -> Int32) -> Never {
    Task { exit(await body()) }
    dispatchMain()
}
