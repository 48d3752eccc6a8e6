import Foundation
import SegProtocol

/// One CLI command: its usage and how it runs against a connected daemon.
struct Command: Sendable {
    var name: String
    var summary: String
    var usage: String
    /// Returns the JSON document `--json` prints, and prints the table itself otherwise.
    var run: @Sendable (_ args: [String], _ client: DaemonClient, _ options: GlobalOptions) throws -> JSONValue
}

struct GlobalOptions: Sendable {
    var json = false
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

extension Result where Success == JSONValue, Failure == ResponseError {
    func value() throws -> JSONValue {
        switch self {
        case .success(let v): return v
        case .failure(let e): throw DaemonError(error: e)
        }
    }
}

enum Commands {
    static let all: [Command] = [demo, segment, evaluate, compare, compress, sensitivity, bench, info, run, export, status, techniques]

    static func named(_ name: String) -> Command? { all.first { $0.name == name } }

    static let status = Command(
        name: "status", summary: "Show the daemon's version, uptime, resident models and counters",
        usage: "segslim status [--json] [--connect unix:PATH]"
    ) { args, client, options in
        guard args.isEmpty else { throw UsageError(message: "unexpected argument '\(args[0])'", command: "status") }
        let status = try client.request(ServerStatusResult.method).value()
        let models = try client.request(ModelListRequest.method).value()
        if !options.json {
            let rows: [(String, String)] = [
                ("version", status["version"]?.stringValue ?? "?"),
                ("pid", status["pid"].map { "\($0)" } ?? "?"),
                ("uptime", Table.milliseconds(status["uptimeMs"]?.doubleValue)),
                ("connections", status["connections"].map { "\($0)" } ?? "?"),
                ("requests served", status["requestsServed"].map { "\($0)" } ?? "?"),
                ("resident models", status["models"].map { "\($0)" } ?? "?"),
                ("resident model bytes", Table.bytes(status["residentBytes"]?.intValue)),
                ("daemon RSS", Table.bytes(status["rssBytes"]?.intValue)),
            ]
            Table.printKeyValues(rows)
            let list = models["models"]?.arrayValue ?? []
            if !list.isEmpty {
                print("")
                Table.print(header: ["model", "bytes", "path"], rows: list.map {
                    [$0["id"]?.stringValue ?? "?", Table.bytes($0["residentBytes"]?.intValue), $0["path"]?.stringValue ?? "-"]
                })
            }
        }
        var out = status.objectValue ?? [:]
        out["residentModels"] = models["models"] ?? []
        return .object(out)
    }

    static let techniques = Command(
        name: "techniques", summary: "List the compression techniques this daemon offers",
        usage: "segslim techniques [--json] [--connect unix:PATH]"
    ) { args, client, options in
        guard args.isEmpty else { throw UsageError(message: "unexpected argument '\(args[0])'", command: "techniques") }
        let result = try client.request(TechniqueListRequest.method).value()
        if !options.json {
            let list = result["techniques"]?.arrayValue ?? []
            if list.isEmpty {
                print("No techniques are registered in this build.")
            } else {
                Table.print(header: ["technique", "summary"], rows: list.map {
                    [$0["id"]?.stringValue ?? "?", $0["summary"]?.stringValue ?? ""]
                })
            }
        }
        return result
    }
}
