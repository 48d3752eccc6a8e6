import Foundation
import SegGraph
import SegONNX
import SegReference
import SegTensor
import SegTestSupport
import Testing

/// The ONNX operator conformance cases (the spec's own examples, written out of the `onnx`
/// wheel by tools/fixtures/make_conformance.py) run through the reference executor.
/// A case we cannot pass must be listed in conformance-known-failures.txt with its reason, and
/// a listed case that starts passing fails the test, so the list stays true.
@Suite struct ConformanceTests {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Conformance")

    /// `family/case` for every case folder of the bundled copy.
    static var cases: [String] { ConformanceCases.cases(in: folder) }

    /// From every conformance-known-failures-*.txt: `<case>\t<reason>` per line.
    static var knownFailures: [String: String] { ConformanceCases.knownFailures }

    @Test func casesArePresent() {
        #expect(Self.cases.count == 781 && ConformanceCases.all == Self.cases)
        #expect(Self.knownFailures.count == 6)
    }

    @Test(arguments: cases)
    func conformance(_ name: String) throws {
        let dir = Self.folder.appendingPathComponent(name)
        let outcome = Self.runCase(dir)
        let caseName = String(name.split(separator: "/").last ?? "")
        if let reason = Self.knownFailures[caseName] {
            #expect(outcome != nil, "\(name) is listed as a known failure (\(reason)) but passes: remove it from the list")
        } else if let failure = outcome {
            Issue.record("\(name): \(failure)")
        }
    }

    /// nil when the case passes, else what went wrong.
    static func runCase(_ dir: URL) -> String? {
        do {
            let model = try ONNX.load(contentsOf: dir.appendingPathComponent("model.onnx"))
            let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("meta.json"))) as? [String: Any] ?? [:]
            let rtol = (meta["rtol"] as? Double) ?? 1e-3
            let atol = (meta["atol"] as? Double) ?? 1e-7
            let executor = try ReferenceExecutor(model: model)
            var inputs: [String: Tensor] = [:]
            // Inputs are written in graph-input order; an optional input may be absent.
            for (i, info) in model.graph.runtimeInputs.enumerated() {
                let url = dir.appendingPathComponent("input_\(i).npy")
                guard FileManager.default.fileExists(atPath: url.path) else { break }
                inputs[info.name] = try Tensor(contentsOfNPY: url)
            }
            let outputs = try executor.run(inputs)
            for (i, info) in model.graph.outputs.enumerated() {
                let expected = try Tensor(contentsOfNPY: dir.appendingPathComponent("output_\(i).npy"))
                guard let actual = outputs[info.name] else { return "output '\(info.name)' missing" }
                if let diff = TensorComparison.difference(actual, expected, rtol: rtol, atol: atol) {
                    return "output '\(info.name)': \(diff)"
                }
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
