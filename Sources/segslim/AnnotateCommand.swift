import Foundation
import SegProtocol

/// `segslim annotate`: record a model's class names, palette and normalization in its
/// metadata (`model/annotate`), so segmenting it needs no flags and assumes nothing.
extension Commands {
    static let annotate = Command(
        name: "annotate", summary: "Write a copy of a model that names its classes (and colours) and its mean/std, so nothing is assumed later",
        usage: "segslim annotate MODEL.onnx [--classes-from DIR|dataset.json] [--mean R,G,B --std R,G,B] --out OUT.onnx [--overwrite] [--json]"
    ) { args, client, options in
        let parsed = try parse(args, command: "annotate", options: ["--classes-from", "--mean", "--std", "--out"], flags: ["--overwrite"])
        guard parsed.positional.count == 1 else { throw UsageError(message: "expected one model path", command: "annotate") }
        guard let out = parsed.options["--out"] else { throw UsageError(message: "--out OUT.onnx is required", command: "annotate") }
        let mean = try channels(parsed.options["--mean"], "--mean", command: "annotate")
        let std = try channels(parsed.options["--std"], "--std", command: "annotate")
        if let std, std.contains(0) { throw UsageError(message: "--std values must be non-zero", command: "annotate") }
        let classes = parsed.options["--classes-from"].map { ClassesSource.path(absolute($0)) }
        guard classes != nil || mean != nil || std != nil else {
            throw UsageError(message: "nothing to annotate: give --classes-from, --mean or --std", command: "annotate")
        }
        let model = try resident(parsed.positional[0], client)
        let r: ModelAnnotateRequest.Result
        do {
            r = try client.send(ModelAnnotateRequest.self, .init(id: model.id, classes: classes, mean: mean, std: std, outputPath: absolute(out),
                                                                 overwrite: parsed.flags.contains("--overwrite") ? true : nil))
        } catch var e as DaemonError {
            // This command's option is --classes-from (segment's is --classes).
            e.error.message = e.error.message.replacingOccurrences(of: "params.classes", with: "--classes-from")
            throw e
        }
        if !options.json {
            print("wrote \(r.path) (\(Table.bytes(r.sizeBytes)))\n")
            Table.print(header: ["metadata", "value"], rows: r.metadata.sorted { $0.key < $1.key }.map { [$0.key, $0.value] })
        }
        return ModelAnnotateRequest.json(r)
    }

    /// `0.5,0.5,0.5` or `[0.5, 0.5, 0.5]`: three numbers, one per channel.
    static func channels(_ text: String?, _ option: String, command: String) throws -> [Double]? {
        guard let text else { return nil }
        let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        let values = trimmed.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 3, let numbers = values as? [Double], numbers.allSatisfy(\.isFinite) else {
            throw UsageError(message: "\(option) needs three numbers R,G,B (e.g. 0.485,0.456,0.406), got '\(text)'", command: command)
        }
        return numbers
    }
}
