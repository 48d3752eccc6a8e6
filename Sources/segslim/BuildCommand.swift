import Foundation
import SegProtocol

/// `segslim build`: write an untrained student network (model/build), or list the
/// architectures with their size.
extension Commands {
    static let build = Command(
        name: "build", summary: "Write an untrained student network of a named architecture (or --list them)",
        usage: "segslim build ARCH --classes N --out S.onnx [--width W] [--input HxW|dynamic] [--seed S] [--teacher T.onnx] [--overwrite] [--json] | segslim build slim --teacher T.onnx --width W [--criterion l1|l2|fpgm|bnGamma|random] --out S.onnx | segslim build --list [--json]"
    ) { args, client, options in
        let parsed = try parse(args, command: "build", options: ["--classes", "--out", "--width", "--input", "--seed", "--teacher", "--criterion"],
                               flags: ["--overwrite", "--list"])
        let o = parsed.options
        if parsed.flags.contains("--list") {
            var p = ModelBuildRequest.Params()
            p.list = true
            let r = try client.send(ModelBuildRequest.self, p)
            let archs = r.architectures ?? []
            if !options.json {
                Table.print(header: ["architecture", "params", "trainable", "GMACs @360x480", "width"], rows: archs.map { a in
                    [a.name, String(format: "%.3f M", Double(a.parameters) / 1e6), String(format: "%.3f M", Double(a.trainableParameters) / 1e6),
                     String(format: "%.3f", Double(a.macs) / 1e9),
                     a.widthRange[0] == a.widthRange[1] ? "-" : "\(a.widthRange[0])...\(a.widthRange[1])"]
                })
            }
            return ModelBuildRequest.json(r)
        }
        guard parsed.positional.count == 1 else { throw UsageError(message: "expected one ARCH (see segslim build --list)", command: "build") }
        guard let out = o["--out"] else { throw UsageError(message: "--out S.onnx is required", command: "build") }
        var p = ModelBuildRequest.Params(arch: parsed.positional[0], outputPath: absolute(out))
        if let v = o["--classes"] {
            guard let n = Int(v) else { throw UsageError(message: "--classes needs an integer, got '\(v)'", command: "build") }
            p.classes = n
        }
        if let v = o["--width"] {
            guard let w = Double(v), w.isFinite else { throw UsageError(message: "--width needs a number, got '\(v)'", command: "build") }
            p.width = w
        }
        if let v = o["--input"] {
            if v.lowercased() == "dynamic" {
                p.inputSize = []
            } else {
                let parts = v.lowercased().split(separator: "x").compactMap { Int($0) }
                guard parts.count == 2 else { throw UsageError(message: "--input needs HEIGHTxWIDTH (e.g. 360x480) or dynamic, got '\(v)'", command: "build") }
                p.inputSize = parts
            }
        }
        if let v = o["--seed"] {
            guard let s = Int(v), s >= 0 else { throw UsageError(message: "--seed needs an integer ≥ 0, got '\(v)'", command: "build") }
            p.seed = s
        }
        p.teacher = o["--teacher"].map { absolute($0) }
        p.criterion = o["--criterion"]
        if p.classes == nil && p.teacher == nil { throw UsageError(message: "--classes N is required (or --teacher T.onnx)", command: "build") }
        p.overwrite = parsed.flags.contains("--overwrite") ? true : nil
        let r = try client.send(ModelBuildRequest.self, p)
        if !options.json, let m = r.model {
            let shape = m.inputs.first.map { ($0.shape ?? []).map { d in
                switch d { case .value(let v): String(v); case .name(let n): n }
            }.joined(separator: "×") } ?? "?"
            Table.printKeyValues([
                ("model", r.path ?? "-"), ("architecture", "\(r.arch ?? "?") (width \(r.width ?? 1), seed \(r.seed ?? 0))"),
                ("classes", "\(r.classes ?? 0)"), ("input", shape),
                ("params", String(format: "%.3f M (%.3f M trainable)", Double(m.params) / 1e6, Double(r.trainableParameters ?? 0) / 1e6)),
                ("MACs", String(format: "%.3f G", Double(m.macs) / 1e9)), ("size", Table.bytes(m.sizeBytes)),
            ])
        }
        return ModelBuildRequest.json(r)
    }
}
