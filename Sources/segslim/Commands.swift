import Foundation
import SegProtocol

/// One CLI command: its usage and how it runs against a connected daemon.
struct Command: Sendable {
    var name: String
    var summary: String
    var usage: String
    /// Returns the JSON document `--json` prints, and prints the table itself otherwise.
    var run: @Sendable (_ args: [String], _ client: DaemonClient, _ options: GlobalOptions) throws -> JSONValue
    /// For commands that need no daemon (reading a report file): run here, nothing spawned.
    var runLocal: (@Sendable (_ args: [String], _ options: GlobalOptions) throws -> JSONValue)? = nil
}

struct GlobalOptions: Sendable {
    var json = false
    /// No progress on stderr (errors still go there).
    var quiet = false
    var connect: String? = ProcessInfo.processInfo.environment["SEGSLIM_CONNECT"]
}

/// A usage error (exit 2), printed with the command's usage.
struct UsageError: Error {
    var message: String
    var command: String?
}

/// The daemon answered with an error (exit 1).
struct DaemonError: Error {
    var error: ResponseError
}

extension RPCRequest {
    /// A result as `--json` prints it.
    static func json(_ result: Result) -> JSONValue { (try? encodeResult(result)) ?? .null }
}

extension Result where Success == JSONValue, Failure == ResponseError {
    func value() throws -> JSONValue {
        switch self {
        case .success(let v): return v
        case .failure(let e): throw DaemonError(error: e)
        }
    }
}

enum Commands {
    static let all: [Command] = [demo, segment, evaluate, compare, compress, autocompress, train, build, report, sensitivity, bench, info, run, export, annotate, status, techniques]

    static func named(_ name: String) -> Command? { all.first { $0.name == name } }

    static let status = Command(
        name: "status", summary: "Show the daemon's version, uptime, resident models and counters",
        usage: "segslim status [--json] [--connect unix:PATH]"
    ) { args, client, options in
        guard args.isEmpty else { throw UsageError(message: "unexpected argument '\(args[0])'", command: "status") }
        let status = try client.send(ServerStatusRequest.self, NoParams())
        let models = try client.send(ModelListRequest.self, NoParams())
        if !options.json {
            let rows: [(String, String)] = [
                ("version", status.version),
                ("pid", "\(status.pid)"),
                ("uptime", Table.milliseconds(status.uptimeMs)),
                ("connections", "\(status.connections)"),
                ("requests served", "\(status.requestsServed)"),
                ("resident models", "\(status.models)"),
                ("resident model bytes", Table.bytes(status.residentBytes)),
                ("daemon RSS", Table.bytes(status.rssBytes)),
            ]
            Table.printKeyValues(rows)
            if !models.models.isEmpty {
                print("")
                Table.print(header: ["model", "bytes", "path"], rows: models.models.map { [$0.id, Table.bytes($0.residentBytes), $0.path ?? "-"] })
            }
        }
        var out = ServerStatusRequest.json(status).objectValue ?? [:]
        out["residentModels"] = ModelListRequest.json(models)["models"] ?? []
        return .object(out)
    }

    static let techniques = Command(
        name: "techniques", summary: "List the compression techniques, or show one's parameters (type, default, meaning) and examples",
        usage: "segslim techniques [ID] [--json] [--connect unix:PATH]"
    ) { args, client, options in
        guard args.count <= 1 else { throw UsageError(message: "unexpected argument '\(args[1])'", command: "techniques") }
        let result = try client.send(TechniqueListRequest.self, NoParams())
        if let id = args.first {
            guard let t = result.techniques.first(where: { $0.id == id }) else {
                throw UsageError(message: "unknown technique '\(id)'\(TechniqueHelp.didYouMean(id, result.techniques.map(\.id)))", command: "techniques")
            }
            if !options.json { TechniqueHelp.describe(t) }
            return (try? JSONValueEncoder().encode(t)) ?? .null
        }
        if !options.json {
            if result.techniques.isEmpty {
                print("No techniques are registered in this build.")
            } else {
                Table.print(header: ["technique", "summary"], rows: result.techniques.map { [$0.id, $0.summary] })
                print("\nsegslim techniques ID shows a technique's parameters.")
            }
        }
        return TechniqueListRequest.json(result)
    }
}
