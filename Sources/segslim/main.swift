import Foundation
import SegProtocol
import SegTransport

// segslim: the command-line client. Every command talks to a daemon: one it spawns on stdio
// (the segslimd beside this executable), or a warm one on a socket (--connect / SEGSLIM_CONNECT).
// Exit codes: 0 ok, 1 the daemon reported an error, 2 usage error, 3 the daemon died or broke
// the protocol, 130/143 interrupted by SIGINT/SIGTERM (see Interruption).

signal(SIGPIPE, SIG_IGN)

func printUsage(_ command: Command?, to stream: FileHandle = .standardOutput) {
    var text: String
    if let command {
        text = "\(command.summary).\n\nusage: \(command.usage)\n"
    } else {
        text = """
            segslim \(SegSlimVersion.current): make segmentation models smaller and faster, and prove what it cost.

            usage: segslim [--json] [--quiet] [--connect unix:PATH] COMMAND [ARGS]

            commands:

            """
        // The widest name plus two spaces ("autocompress" outgrew a fixed 12 columns).
        let width = (Commands.all.map(\.name.count).max() ?? 10) + 2
        for c in Commands.all { text += "  \(c.name.padding(toLength: width, withPad: " ", startingAt: 0))\(c.summary)\n" }
        text += """
              help        Show this help, or a command's usage: segslim help COMMAND

            options:
              --json             print exactly one JSON document on stdout
              --quiet, -q        no progress on stderr (a bar on a terminal, a line every 5 s otherwise)
              --connect ADDR     use a running daemon (`segslimd --listen unix:PATH`); also $SEGSLIM_CONNECT
              --version          print the version

            """
    }
    stream.write(Data(text.utf8))
}

/// `--json` anywhere on the command line, known before the options are parsed: a usage error
/// in an earlier argument still answers in JSON.
let wantsJSON = CommandLine.arguments.dropFirst().contains("--json")

func usageFailure(_ message: String, command: Command?) -> Never {
    if wantsJSON {
        // One JSON document on stdout, as for the daemon's errors, with the usage to fix it.
        let usage = command.map(\.usage) ?? "segslim [--json] [--quiet] [--connect unix:PATH] COMMAND [ARGS]; segslim help"
        CLIWords.report(nil, message: message, json: true, fields: ["kind": "usage", "usage": .string(usage)])
        exit(2)
    }
    FileHandle.standardError.write(Data("segslim: \(message)\n\n".utf8))
    printUsage(command, to: .standardError)
    exit(2)
}

/// The daemon could not be reached or broke the protocol (exit 3): in JSON with `--json`.
func daemonFailure(_ kind: String, _ message: String) -> Never {
    CLIWords.report(nil, message: message, json: wantsJSON, fields: ["kind": .string(kind)])
    exit(3)
}

// Global options may appear anywhere; everything else belongs to the command, which parses
// its own options (`--out DIR`) and refuses unknown ones.
var options = GlobalOptions()
var positional: [String] = []
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--json": options.json = true
    case "--quiet", "-q": options.quiet = true
    case "--connect":
        guard let v = args.popFirst() else { usageFailure("--connect needs an address (unix:PATH)", command: nil) }
        options.connect = v
    case "--version":
        print("segslim \(SegSlimVersion.current)")
        exit(0)
    case "--help", "-h": positional.insert("help", at: 0)
    default:
        if arg.hasPrefix("--") && positional.isEmpty { usageFailure("unknown option '\(arg)'", command: nil) }
        positional.append(arg)
    }
}

guard let name = positional.first else {
    if options.json { usageFailure("no command given", command: nil) }
    printUsage(nil)
    exit(2)
}
if name == "help" {
    if positional.count > 1 {
        guard let c = Commands.named(positional[1]) else {
            usageFailure("unknown command '\(positional[1])'\(TechniqueHelp.didYouMean(positional[1], Commands.all.map(\.name)))", command: nil)
        }
        printUsage(c)
    } else {
        printUsage(nil)
    }
    exit(0)
}
guard let command = Commands.named(name) else {
    usageFailure("unknown command '\(name)'\(TechniqueHelp.didYouMean(name, Commands.all.map(\.name) + ["help"]))", command: nil)
}
if let local = command.runLocal {
    do {
        let result = try local(Array(positional.dropFirst()), options)
        if options.json { print(result.jsonString) }
        exit(0)
    } catch let e as UsageError {
        usageFailure(e.message, command: e.command.flatMap(Commands.named))
    } catch {
        CLIWords.report(nil, message: "\(error)", json: options.json)
        exit(1)
    }
}

let client: DaemonClient
do {
    client = try options.connect.map(DaemonClient.connect(address:)) ?? DaemonClient.spawn()
} catch {
    daemonFailure("connection", "cannot reach the daemon: \(error)")
}

var exitCode: Int32 = 0
do {
    _ = try client.request(InitializeRequest.method, InitializeRequest.encodeParams(.init(processId: Int64(getpid()), clientName: "segslim"))).value()
    try client.notify(InitializedNotification.method)
    let result = try command.run(Array(positional.dropFirst()), client, options)
    if options.json { print(result.jsonString) }
} catch let e as UsageError {
    usageFailure(e.message, command: e.command.flatMap(Commands.named))
} catch let e as DaemonError {
    CLIWords.report(e.error, message: e.error.message, json: options.json)
    exitCode = 1
} catch {
    daemonFailure("protocol", "\(error)")
}
client.close()
// A command interrupted after its request answered the cancel with a result (reported above)
// still exits as interrupted.
let signalled = client.interruption.receivedSignal
exit(signalled != 0 ? 128 + signalled : exitCode)
