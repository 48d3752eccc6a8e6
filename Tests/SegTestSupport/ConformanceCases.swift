import Foundation
import SegTensor

/// The ONNX operator conformance cases checked in under Tests/SegReferenceTests/Conformance
/// (written by tools/fixtures/make_conformance.py): one folder per case with `model.onnx`,
/// `input_<i>.npy` in graph-input order, `output_<i>.npy` and `meta.json` (op, rtol, atol).
/// The reference executor's suite and the runtime's replay read them through here.
package enum ConformanceCases {
    /// Tests/SegReferenceTests/Conformance, found from this file's path.
    package static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SegReferenceTests/Conformance")

    /// `family/case` for every case folder (families: elementwise, nn, quantization, tensor).
    package static var all: [String] { cases(in: folder) }

    /// `family/case` for every case folder under `folder` (the source tree's, or a bundle's copy).
    package static func cases(in folder: URL) -> [String] {
        let fm = FileManager.default
        let families = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }
        return families.flatMap { family in
            ((try? fm.contentsOfDirectory(atPath: folder.appendingPathComponent(family).path)) ?? [])
                .filter { !$0.hasPrefix(".") }.map { "\(family)/\($0)" }
        }.sorted()
    }

    /// Cases the reference executor does not pass, by case name (without the family), with the
    /// reason: every conformance-known-failures-*.txt beside the cases, `<case>\t<reason>` a line.
    package static let knownFailures: [String: String] = {
        let dir = folder.deletingLastPathComponent()
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasPrefix("conformance-known-failures") }
        var map: [String: String] = [:]
        for file in files {
            guard let text = try? String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: "\t", maxSplits: 1)
                if parts.count == 2 { map[String(parts[0])] = String(parts[1]) }
            }
        }
        return map
    }()

    /// One case's files.
    package struct Case {
        package let name: String
        package let directory: URL
        /// The operator the case exercises, and the tolerances its outputs are checked with.
        package let op: String
        package let rtol: Double
        package let atol: Double

        package init(_ name: String) throws {
            self.name = name
            directory = ConformanceCases.folder.appendingPathComponent(name)
            let data = try Data(contentsOf: directory.appendingPathComponent("meta.json"))
            let meta = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            op = meta["op"] as? String ?? ""
            rtol = (meta["rtol"] as? Double) ?? 1e-3
            atol = (meta["atol"] as? Double) ?? 1e-7
        }

        package var model: URL { directory.appendingPathComponent("model.onnx") }
        package var caseName: String { String(name.split(separator: "/").last ?? "") }

        /// The inputs present, in graph-input order (an optional trailing input may be absent).
        package func inputs(count: Int) throws -> [Tensor] {
            var result: [Tensor] = []
            for i in 0..<count {
                let url = directory.appendingPathComponent("input_\(i).npy")
                guard FileManager.default.fileExists(atPath: url.path) else { break }
                result.append(try Tensor(contentsOfNPY: url))
            }
            return result
        }

        /// Expected output `index`.
        package func output(_ index: Int) throws -> Tensor {
            try Tensor(contentsOfNPY: directory.appendingPathComponent("output_\(index).npy"))
        }
    }
}
