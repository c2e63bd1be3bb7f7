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
case .serve(let options):
    ServeCommand.run(options, parentAtLaunch: parentAtLaunch)
case .pull(let options):
    PullCommand.run(options)
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
case .help:
    Console.write(STDOUT_FILENO, Command.usage + "\n")
}
