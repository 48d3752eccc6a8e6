import Foundation
import SegProtocol

/// `segslim bench`: latency, load time, arena and peak memory of each model, side by side.
extension Commands {
    static let bench = Command(
        name: "bench", summary: "Benchmark models on the compiled runtime: p50/p90/min latency, load and plan compile time, arena and peak RSS",
        usage: "segslim bench MODEL.onnx [MODEL.onnx ...] [--threads N] [--runs R] [--warmup W] [--batch B] [--shape HxW] [--profile [--profile-steps N]] [--json]"
    ) { args, client, options in
        let parsed = try parse(args, command: "bench", options: ["--threads", "--runs", "--warmup", "--batch", "--shape", "--profile-steps"], flags: ["--profile"])
        guard !parsed.positional.isEmpty else { throw UsageError(message: "expected at least one model", command: "bench") }
        func int(_ name: String) throws -> Int? {
            guard let v = parsed.options[name] else { return nil }
            guard let n = Int(v), n > 0 else { throw UsageError(message: "\(name) needs a positive integer", command: "bench") }
            return n
        }
        // --shape HxW: the input's height and width, for models whose H and W are dynamic (and
        // to time a fixed model's graph at another size only where its dims allow it).
        var size: (height: Int, width: Int)? = nil
        if let v = parsed.options["--shape"] {
            let parts = v.lowercased().split(separator: "x").map { Int($0) }
            guard parts.count == 2, let h = parts[0], let w = parts[1], h > 0, w > 0 else {
                throw UsageError(message: "--shape needs HxW with positive integers, e.g. 360x480, got '\(v)'", command: "bench")
            }
            size = (h, w)
        }
        let batch = try int("--batch")
        // --profile-steps N: how many of the slowest steps the profile lists (0: every step).
        var profileSteps: Int? = nil
        if let v = parsed.options["--profile-steps"] {
            guard let n = Int(v), n >= 0 else { throw UsageError(message: "--profile-steps needs 0 (every step) or a positive integer, got '\(v)'", command: "bench") }
            guard parsed.flags.contains("--profile") else { throw UsageError(message: "--profile-steps needs --profile", command: "bench") }
            profileSteps = n
        }
        var params = ModelBenchmarkRequest.Params(id: "", runs: try int("--runs"), warmup: try int("--warmup"), threads: try int("--threads"),
                                                  batch: batch, profile: parsed.flags.contains("--profile") ? true : nil, profileSteps: profileSteps)
        var rows: [JSONValue] = [], warnings: [String] = []
        for (i, path) in parsed.positional.enumerated() {
            // Each model in a fresh daemon (unless connected), so peak RSS is the model's own.
            let c = (i == 0 || options.connect != nil) ? client : try DaemonClient.fresh(like: client)
            defer { if c !== client { c.close() } }
            if c !== client { _ = try c.request(InitializeRequest.method, InitializeRequest.encodeParams(.init(clientName: "segslim bench"))).value() }
            let started = Date()
            let model = try resident(path, c)
            let loadMs = Date().timeIntervalSince(started) * 1000
            params.id = model.id
            if let size {
                // N×C×H×W with the model's own channel count (3 when it does not fix one).
                var channels = 3
                if let dims = model.inputs.first?.shape, dims.count == 4, case .value(let c) = dims[1] { channels = c }
                params.inputShape = [batch ?? 1, channels, size.height, size.width]
            }
            let r: ModelBenchmarkRequest.Result
            do { r = try c.send(ModelBenchmarkRequest.self, params) } catch let e as DaemonError where size == nil && e.error.message.contains("dynamic dimension") {
                throw DaemonError(error: ResponseError(e.error.code, "\(e.error.message) (segslim bench: --shape HxW)", data: e.error.data))
            }
            var row: [String: JSONValue] = [
                "path": .string(absolute(path)), "p50Ms": .double(r.p50Ms), "p90Ms": .double(r.p90Ms), "minMs": .double(r.minMs),
                "meanMs": .double(r.meanMs),
                // Reading, parsing and checking the file (model/load), then compiling the plan
                // for these shapes (model/benchmark's loadMs): a first request pays both.
                "loadMs": .double((loadMs * 1000).rounded() / 1000), "compileMs": .double(r.loadMs),
                "arenaBytes": .int(r.arenaBytes), "peakRSSBytes": .int(r.peakRSSBytes),
                "threads": .int(Int64(r.threads)), "batch": .int(Int64(r.batch)),
                "inputShapes": .object(r.inputShapes.mapValues { .array($0.map { .int(Int64($0)) }) }),
            ]
            row["noisy"] = .bool(Warnings.isNoisy(p50Ms: r.p50Ms, minMs: r.minMs))
            if let w = Warnings.noisy((absolute(path) as NSString).lastPathComponent, p50Ms: r.p50Ms, minMs: r.minMs) { warnings.append(w) }
            if r.profile != nil {
                let json = ModelBenchmarkRequest.json(r)
                row["profile"] = json["profile"]
                row["slowestSteps"] = json["slowestSteps"]
            }
            rows.append(.object(row))
        }
        if !options.json {
            Table.print(header: ["model", "p50", "p90", "min", "load", "compile", "arena", "peak RSS"], rows: rows.map { r in
                [((r["path"]?.stringValue ?? "?") as NSString).lastPathComponent,
                 String(format: "%.1f ms", r["p50Ms"]?.doubleValue ?? 0), String(format: "%.1f ms", r["p90Ms"]?.doubleValue ?? 0),
                 String(format: "%.1f ms", r["minMs"]?.doubleValue ?? 0), String(format: "%.0f ms", r["loadMs"]?.doubleValue ?? 0),
                 String(format: "%.0f ms", r["compileMs"]?.doubleValue ?? 0), Table.bytes(r["arenaBytes"]?.intValue), Table.bytes(r["peakRSSBytes"]?.intValue)]
            })
            for r in rows where r["profile"] != nil {
                print("\nprofile of \(((r["path"]?.stringValue ?? "?") as NSString).lastPathComponent):")
                Table.print(header: ["kernel", "ms/run", "share"], rows: (r["profile"]?.arrayValue ?? []).map {
                    [$0["kind"]?.stringValue ?? "?", String(format: "%.2f", $0["msPerRun"]?.doubleValue ?? 0), pct($0["fraction"]?.doubleValue ?? 0)]
                })
                if let steps = r["slowestSteps"]?.arrayValue, !steps.isEmpty {
                    print("")
                    Table.print(header: ["slowest steps", "ms/run", "share"], rows: steps.map {
                        ["#\($0["index"]?.intValue ?? 0) " + ($0["step"]?.stringValue ?? "?"),
                         String(format: "%.2f", $0["msPerRun"]?.doubleValue ?? 0), pct($0["fraction"]?.doubleValue ?? 0)]
                    })
                }
            }
        }
        Warnings.print(warnings)
        return Warnings.attach(warnings, to: ["models": .array(rows)])
    }
}
