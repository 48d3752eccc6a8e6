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

    /// Cases whose node must run on a fast kernel, not the reference fallback: a path that
    /// silently declines (a misread attribute, a shape check too strict) would still pass the
    /// comparison above, so the kind of step is checked too.
    static let fastCases: [(String, String)] = [
        ("nn/test_maxpool_2d_pads", "MaxPool"), ("nn/test_maxpool_2d_ceil", "MaxPool"),
        ("nn/test_averagepool_2d_pads_count_include_pad", "AveragePool"), ("nn/test_averagepool_2d_ceil", "AveragePool"),
        ("nn/test_instancenorm_epsilon", "InstanceNormalization"), ("nn/test_batchnorm_example", "BatchNormalization"),
        ("tensor/test_slice", "Slice"), ("tensor/test_slice_neg_steps", "Slice"), ("tensor/test_slice_negative_axes", "Slice"),
        ("tensor/test_gather_0", "Gather"), ("tensor/test_concat_3d_axis_negative_1", "Concat"),
        ("tensor/test_flatten_axis2", "Reshape"), ("tensor/test_reshape_reordered_all_dims", "Reshape"),
        ("elementwise/test_reduce_sum_keepdims_random", "ReduceSum"), ("elementwise/test_reduce_mean_do_not_keepdims_random", "ReduceMean"),
        ("elementwise/test_reduce_max_keepdims_random", "ReduceMax"),
    ]

    @Test(arguments: fastCases)
    func dataMovementCasesTakeTheFastKernel(_ name: String, _ kind: String) throws {
        let dir = Self.root.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: dir.path) else {
            Issue.record("conformance case \(name) is missing")
            return
        }
        var model = try ONNX.load(contentsOf: dir.appendingPathComponent("model.onnx"))
        // The cases feed every operand (starts, axes, indices, BN statistics) as an input; real
        // models carry them as initializers, which is what the fast paths require. Only the
        // first input stays an input (all of them for Concat, whose operands are all activations).
        var shapes: [String: [Int]] = [:]
        for (i, info) in model.graph.runtimeInputs.enumerated() {
            let t = try Tensor(contentsOfNPY: dir.appendingPathComponent("input_\(i).npy"))
            if i == 0 || kind == "Concat" { shapes[info.name] = t.dims } else { model.graph.initializers[info.name] = t }
        }
        let compiled = try Compiler().compile(model, inputShapes: shapes)
        #expect(compiled.kernelCounts[kind, default: 0] >= 1, "\(name): \(compiled.kernelCounts)")
        #expect(!compiled.kernelCounts.keys.contains { $0.hasSuffix("(reference)") }, "\(name): \(compiled.kernelCounts)")
    }
}
