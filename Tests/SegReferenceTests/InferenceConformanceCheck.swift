import Foundation
import SegGraph
import SegONNX
import SegReference
import SegTensor
import Testing

/// Shape inference checked against a family's conformance cases: each case inferred from its
/// real input shapes must agree with the expected outputs (the dtype always, every dim that
/// inference knows). With `constants`, inputs after the first are made initializers, as shape
/// inputs are in exported models.
enum InferenceConformanceCheck {
    static func run(family: String, constants: Bool = false) throws -> (cases: Int, outputs: Int, fullyKnown: Int) {
        let folder = ConformanceTests.folder.appendingPathComponent(family)
        let cases = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
        var outputs = 0, fullyKnown = 0
        for name in cases where ConformanceTests.knownFailures[name] == nil {
            let dir = folder.appendingPathComponent(name)
            var model = try ONNX.load(contentsOf: dir.appendingPathComponent("model.onnx"))
            var shapes: [String: [Int]] = [:]
            for (i, input) in model.graph.runtimeInputs.enumerated() {
                let url = dir.appendingPathComponent("input_\(i).npy")
                guard FileManager.default.fileExists(atPath: url.path) else { break }
                let t = try Tensor(contentsOfNPY: url)
                shapes[input.name] = t.dims
                if constants && i > 0 { model.graph.initializers[input.name] = t }
            }
            let inference = try ShapeInference(model: model, inputShapes: shapes)
            for (i, output) in model.graph.outputs.enumerated() {
                let expected = try Tensor(contentsOfNPY: dir.appendingPathComponent("output_\(i).npy"))
                let type = inference.types[output.name]
                outputs += 1
                #expect(type?.elementType == expected.dtype, "\(name): dtype \(String(describing: type)), expected \(expected.dtype)")
                guard let shape = type?.shape else { continue }
                #expect(shape.count == expected.dims.count, "\(name): \(shape), expected \(expected.dims)")
                for (d, e) in zip(shape, expected.dims) {
                    if case .value(let v) = d { #expect(v == e, "\(name): \(shape), expected \(expected.dims)") }
                }
                if type?.concreteDims != nil { fullyKnown += 1 }
            }
        }
        return (cases.count, outputs, fullyKnown)
    }
}
