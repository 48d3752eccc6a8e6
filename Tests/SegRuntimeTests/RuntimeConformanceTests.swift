import Foundation
import SegONNX
import SegReference
import SegRuntime
import SegTensor
import Testing

/// The compiled runtime against the ONNX conformance cases: every case runs through
/// `Compiler` (fast kernels where it has them, reference fallback elsewhere) and must give the
/// expected outputs. Exercises planning, fusion and the fast elementwise paths on the spec's
/// own examples.
@Suite struct RuntimeConformanceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../SegReferenceTests/Conformance").standardized

    static var cases: [String] {
        let fm = FileManager.default
        return ["elementwise", "tensor", "nn"].flatMap { family in
            ((try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(family).path)) ?? [])
                .filter { !$0.hasPrefix(".") }.map { "\(family)/\($0)" }
        }.sorted()
    }

    @Test(arguments: cases)
    func compiledMatchesTheReference(_ name: String) throws {
        let dir = Self.root.appendingPathComponent(name)
        let model = try ONNX.load(contentsOf: dir.appendingPathComponent("model.onnx"))
        // Only cases the reference executor passes are meaningful here.
        guard let reference = try? ReferenceExecutor(model: model) else { return }
        var inputs: [String: Tensor] = [:]
        for (i, info) in model.graph.runtimeInputs.enumerated() {
            let url = dir.appendingPathComponent("input_\(i).npy")
            guard FileManager.default.fileExists(atPath: url.path) else { break }
            inputs[info.name] = try Tensor(contentsOfNPY: url)
        }
        guard let expected = try? reference.run(inputs) else { return }
        let shapes = inputs.filter { $0.value.dtype == .f32 }.mapValues(\.dims)
        let compiled = try Compiler().compile(model, inputShapes: shapes)
        let actual = try compiled.run(inputs)
        for (outName, e) in expected {
            let a = try #require(actual[outName], "\(name): output \(outName) missing")
            #expect(a.dtype == e.dtype && a.dims == e.dims, "\(name): \(a) vs \(e)")
            guard a.dtype == .f32, e.dtype == .f32 else {
                #expect(a == e, "\(name): \(outName) differs")
                continue
            }
            let x = try a.scalars(as: Float.self), y = try e.scalars(as: Float.self)
            let bad = zip(x, y).filter { $0 != $1 && !($0.isNaN && $1.isNaN) && !(abs($0 - $1) <= 1e-5 + 1e-4 * abs($1)) }.count
            #expect(bad == 0, "\(name): \(bad) of \(x.count) elements differ from the reference")
        }
    }
}
