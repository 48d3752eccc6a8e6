import Foundation
import SegProtocol

/// Commands that work on one model file: info, run, export.
extension Commands {
    /// An absolute path, resolved against the CLI's own working directory (a warm daemon
    /// reached with --connect has its own).
    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        return URL(fileURLWithPath: expanded, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
    }

    /// The id of the resident model loaded from `path`, loading it when no resident model
    /// came from that file: repeated CLI calls against a warm daemon reuse the model.
    static func resident(_ path: String, _ client: DaemonClient) throws -> ModelDescription {
        // The daemon answers with the model already resident from this path, or reads it
        // again when the file changed since (a warm daemon must not serve a replaced model).
        try client.send(ModelLoadRequest.self, .init(path: absolute(path), reuse: true))
    }

    /// The model as `resident` gives it, or with `--resize MODE` a copy loaded with that
    /// preprocessing (`stretch`, `pad` or `none`; the daemon checks the mode and the model).
    static func resident(_ path: String, _ client: DaemonClient, resize: String?) throws -> ModelDescription {
        guard let resize else { return try resident(path, client) }
        var overrides = PreprocessingOverrides()
        overrides.resize = .string(resize)
        return try client.send(ModelLoadRequest.self, .init(path: absolute(path), preprocessing: overrides))
    }

    /// Splits `--name value` options from positional arguments; unknown options are usage errors.
    static func parse(_ args: [String], command: String, options: Set<String>, flags: Set<String> = []) throws -> (positional: [String], options: [String: String], flags: Set<String>) {
        var positional: [String] = [], values: [String: String] = [:], set: Set<String> = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if flags.contains(a) {
                set.insert(a)
            } else if options.contains(a) {
                guard i + 1 < args.count else { throw UsageError(message: "\(a) needs a value", command: command) }
                values[a] = args[i + 1]
                i += 1
            } else if a.hasPrefix("--") {
                throw UsageError(message: "unknown option '\(a)'", command: command)
            } else {
                positional.append(a)
            }
            i += 1
        }
        return (positional, values, set)
    }

    static func dims(_ shape: [TensorDescription.Dimension]?) -> String {
        guard let shape else { return "?" }
        return "[" + shape.map { d in
            switch d {
            case .value(let v): return String(v)
            case .name(let n): return n
            }
        }.joined(separator: ", ") + "]"
    }

    static func dims(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

    static let info = Command(
        name: "info", summary: "Show a model's inputs, outputs, parameters, MACs and operators",
        usage: "segslim info MODEL.onnx [--json]"
    ) { args, client, options in
        /// How outputs become a class map, when that is not the plain per-pixel argmax.
        func headLine(_ p: PreprocessingDescription?) -> [(String, String)] {
            guard let p, p.head == "mask_classification", let outs = p.headOutputs, outs.count == 2 else { return [] }
            return [("head", "mask classification (\(p.headDeclared == true ? "segslim.task" : "recognised by shape")): "
                + "class logits '\(outs[0])' × mask logits '\(outs[1])', Mask2Former semantic inference")]
        }
        let parsed = try parse(args, command: "info", options: [])
        guard parsed.positional.count == 1 else { throw UsageError(message: "expected one model path", command: "info") }
        let r = try resident(parsed.positional[0], client)
        if !options.json {
            Table.printKeyValues([
                ("model", r.path ?? "?"),
                ("id", r.id),
                ("producer", r.producer),
                ("opsets", r.opsets.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")),
                ("parameters", "\(r.params)"),
                ("MACs", String(format: "%.3f G", Double(r.macs) / 1e9)),
                ("file size", Table.bytes(r.sizeBytes)),
            ] + headLine(r.preprocessing))
            print("")
            let io = r.inputs.map { ["input", $0.name, $0.dtype ?? "?", dims($0.shape)] }
                + r.outputs.map { ["output", $0.name, $0.dtype ?? "?", dims($0.shape)] }
            Table.print(header: ["", "name", "dtype", "shape"], rows: io)
            print("")
            let ops = r.opCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
            Table.print(header: ["operator", "count"], rows: ops.map { [$0.key, "\($0.value)"] })
            for w in r.warnings { print("warning: \(CLIWords.translate(w))") }
        }
        return ModelInfoRequest.json(r)
    }

    static let run = Command(
        name: "run", summary: "Run a model on .npy inputs and write one .npy per output",
        usage: "segslim run MODEL.onnx INPUT.npy [NAME=INPUT.npy ...] --out DIR [--engine runtime|reference] [--json]"
    ) { args, client, options in
        let parsed = try parse(args, command: "run", options: ["--out", "--engine"])
        if let engine = parsed.options["--engine"], engine != "runtime" && engine != "reference" {
            throw UsageError(message: "--engine is runtime (the compiled runtime, the default) or reference (the plain oracle), not '\(engine)'", command: "run")
        }
        guard parsed.positional.count >= 2 else { throw UsageError(message: "expected a model and at least one input", command: "run") }
        guard let out = parsed.options["--out"] else { throw UsageError(message: "--out DIR is required", command: "run") }
        let model = try resident(parsed.positional[0], client)
        let graphInputs = model.inputs.map(\.name)
        var inputs: [String: TensorInput] = [:]
        var unnamed = graphInputs.makeIterator()
        for arg in parsed.positional.dropFirst() {
            // NAME=PATH binds by name; a bare PATH takes the next graph input in order.
            if let eq = arg.firstIndex(of: "="), !FileManager.default.fileExists(atPath: arg) {
                inputs[String(arg[..<eq])] = .npy(absolute(String(arg[arg.index(after: eq)...])))
            } else {
                guard let name = unnamed.next() else { throw UsageError(message: "more inputs than the model has (\(graphInputs.joined(separator: ", ")))", command: "run") }
                inputs[name] = .npy(absolute(arg))
            }
        }
        let result = try client.send(ModelRunRequest.self, .init(id: model.id, inputs: inputs, outputDir: absolute(out),
                                                                 engine: parsed.options["--engine"]))
        if !options.json {
            Table.print(header: ["output", "dtype", "shape", "path"], rows: result.outputs.map {
                [$0.name, $0.dtype, dims($0.shape), $0.path ?? "?"]
            })
        }
        // `--json`: the outputs without timing.
        return ["outputs": .array(result.outputs.map {
            ["name": .string($0.name), "path": $0.path.map(JSONValue.string) ?? .null, "shape": .array($0.shape.map { .int(Int64($0)) }), "dtype": .string($0.dtype)]
        })]
    }

    static let export = Command(
        name: "export", summary: "Write a model (as SegSlim holds it) to an ONNX file",
        usage: "segslim export MODEL.onnx --out OUT.onnx [--overwrite] [--json]"
    ) { args, client, options in
        let parsed = try parse(args, command: "export", options: ["--out"], flags: ["--overwrite"])
        guard parsed.positional.count == 1 else { throw UsageError(message: "expected one model path", command: "export") }
        guard let out = parsed.options["--out"] else { throw UsageError(message: "--out OUT.onnx is required", command: "export") }
        let model = try resident(parsed.positional[0], client)
        let result = try client.send(ModelExportRequest.self, .init(id: model.id, path: absolute(out), overwrite: parsed.flags.contains("--overwrite")))
        if !options.json {
            print("wrote \(result.path) (\(Table.bytes(result.sizeBytes)))")
        }
        return ModelExportRequest.json(result)
    }
}
