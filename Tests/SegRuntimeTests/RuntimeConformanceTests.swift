import Foundation
import SegONNX
import SegReference
import SegRuntime
import SegTensor
import SegTestSupport
import Testing

/// The compiled runtime against the ONNX conformance cases' own expected outputs (not the
/// reference executor's), every case the reference passes, twice: with the inputs as the case
/// gives them (every operand a graph input), and with every input after the first turned into
/// an initializer, as real models carry weights, so the fast paths that need constant operands
/// run. In the second form no op that has a fast kernel may fall back to the reference, except
/// the cases listed in `expectedFallbacks` with the reason the kernel declines.
@Suite struct RuntimeConformanceTests {
    static let root = ConformanceCases.folder

    /// Every case the reference executor passes (its known failures are listed with reasons
    /// beside the cases and checked by SegReferenceTests).
    static var cases: [String] {
        ConformanceCases.all.filter { ConformanceCases.knownFailures[String($0.split(separator: "/").last ?? "")] == nil }
    }

    enum Form: String, CaseIterable { case asGiven, constantsAsInitializers }

    /// Float outputs are compared with the case's rtol and an atol of at least 1e-6: the
    /// kernels sum in another order (blocked GEMM, FMA) than numpy, so a result that cancels
    /// to near zero carries an absolute error of a few ulps of its addends.
    static let atolFloor = 1e-6

    @Test func everyCaseIsReplayed() {
        #expect(Self.cases.count == ConformanceCases.all.count - ConformanceCases.knownFailures.count)
        #expect(Self.cases.count > 700)
    }

    @Test(arguments: cases)
    func compiledMatchesTheCaseOutputs(_ name: String) throws {
        let c = try ConformanceCases.Case(name)
        let model = try ONNX.load(contentsOf: c.model)
        let given = try c.inputs(count: model.graph.runtimeInputs.count)
        for form in Form.allCases {
            var m = model
            var inputs: [String: Tensor] = [:]
            for (i, (info, tensor)) in zip(model.graph.runtimeInputs, given).enumerated() {
                if form == .constantsAsInitializers && i > 0 { m.graph.initializers[info.name] = tensor } else { inputs[info.name] = tensor }
            }
            let compiled = try Compiler(options: .standard).compile(m, inputShapes: inputs.mapValues(\.dims))
            let outputs = try compiled.run(inputs)
            for (i, info) in model.graph.outputs.enumerated() where !info.name.isEmpty {
                let expected = try c.output(i)
                let actual = try #require(outputs[info.name], "\(name) \(form): output \(info.name) missing")
                if let diff = TensorComparison.difference(actual, expected, rtol: c.rtol, atol: max(c.atol, Self.atolFloor)) {
                    Issue.record("\(name) \(form): output \(info.name): \(diff)")
                }
            }
            guard form == .constantsAsInitializers else { continue }
            let fellBack = compiled.kernelCounts.keys.filter { $0.hasSuffix(" (reference)") }
                .map { String($0.dropLast(" (reference)".count)) }.filter { Compiler.hasFastKernel(opType: $0) }.sorted()
            for op in fellBack where Self.declineReason(op: op, caseName: c.caseName) == nil {
                Issue.record("\(name): \(op) has a fast kernel but ran on the reference (\(compiled.kernelCounts))")
            }
        }
    }

    /// Why the fast kernel of `op` declines the node of `caseName`, when the case is one it is
    /// meant to decline; nil otherwise. Each rule names the case-name markers it covers.
    static func declineReason(op: String, caseName: String) -> String? {
        for rule in declined where rule.ops.contains(op) && rule.markers.contains(where: caseName.contains) { return rule.reason }
        return nil
    }

    static let declined: [(ops: Set<String>, markers: [String], reason: String)] = [
        (["Add", "Sub", "Mul", "Div", "Pow", "Clip", "MaxPool", "ReduceMax", "ReduceMin"], ["int8", "int16", "int32", "int64", "bool"],
         "the float kernels take f32 operands; integer and bool tensors run on the reference"),
        (["ReduceSum", "ReduceMax", "ReduceMin"], ["empty_set", "empty_axes_input_noop"],
         "empty tensors and noop_with_empty_axes are the reference's (the kernel reduces at least one element into at least one row)"),
        (["Softmax"], ["softmax_axis_0", "softmax_axis_1"], "the kernel normalises the last axis only"),
        (["AveragePool", "MaxPool"], ["_1d_", "_3d_", "dilations", "with_argmax"],
         "pool kernels are 2-D, without dilation, with one output (no Indices)"),
        (["ConvTranspose"], ["_1d", "_3d"], "ConvTranspose2D is 2-D"),
        (["BatchNormalization"], ["training_mode"], "training mode (batch statistics, running-mean outputs) is the reference's"),
        (["Dropout"], ["_mask"], "the mask output is read (a graph output): only an inference pass-through is a kernel"),
        (["LayerNormalization"], ["layer_normalization"],
         "the cases make Mean and InvStdDev graph outputs; the kernel writes the normalised output only"),
        (["Resize"], ["cubic", "antialias", "tf_crop_and_resize", "axes_", "not_larger", "not_smaller", "half_pixel_symmetric",
                      "nearest_ceil", "round_prefer_ceil"],
         "cubic, antialias, crop-and-resize, axes, keep_aspect_ratio_policy, half_pixel_symmetric and ceil rounding are not in the resize kernel"),
        (["QuantizeLinear", "DequantizeLinear"], ["blocked", "int16"], "the Q/DQ kernels are per-tensor or per-axis 8-bit"),
        (["Einsum"], ["batch_diagonal", "inner_prod", "einsum_scalar", "einsum_sum", "einsum_transpose", "einsum_batch_matmul"],
         "only f32 batch·M·K, batch·K·N -> batch·M·N equations are a kernel (a batched matrix product; the spec's batch_matmul case is f64); the rest are the reference's"),
        (["GridSample"], ["nearest", "bicubic", "reflection", "volumetric"],
         "the grid-sample kernel is 4-D bilinear with zeros or border padding; other modes and ranks are the reference's"),
        (["Pad"], ["edge_pad", "reflect_pad", "wrap_pad"], "the pad kernel is constant mode; edge, reflect and wrap are the reference's"),
        (["Where"], ["test_where_example", "test_where_long_example"],
         "the kernel takes a constant condition (the attention masks of exports); the cases feed it as a graph input"),
        (["MatMulInteger", "ConvInteger"], ["test_matmulinteger", "convinteger"],
         "the kernel is MatMulInteger fused with the Cast to float that reads it (dynamic quantization); a bare i32 product is the reference's"),
    ]

    @Test func declineRulesAreNarrow() {
        #expect(Self.declineReason(op: "Conv", caseName: "test_conv_with_strides_padding") == nil)
        #expect(Self.declineReason(op: "Resize", caseName: "test_resize_upsample_scales_linear") == nil)
        #expect(Self.declineReason(op: "MaxPool", caseName: "test_maxpool_2d_pads") == nil)
        #expect(Self.declineReason(op: "Add", caseName: "test_add_uint8") != nil)
    }

    /// Cases whose node must run on a fast kernel, not the reference fallback: a path that
    /// silently declines (a misread attribute, a shape check too strict) would still pass the
    /// comparison above, so the kind of step is checked too.
    static let fastCases: [(String, String)] = [
        ("tensor/test_constant_pad", "Pad"), ("tensor/test_constant_pad_axes", "Pad"), ("tensor/test_constant_pad_negative_axes", "Pad"),
        ("nn/test_maxpool_2d_pads", "MaxPool"), ("nn/test_maxpool_2d_ceil", "MaxPool"),
        ("nn/test_averagepool_2d_pads_count_include_pad", "AveragePool"), ("nn/test_averagepool_2d_ceil", "AveragePool"),
        ("nn/test_instancenorm_epsilon", "InstanceNormalization"), ("nn/test_batchnorm_example", "BatchNormalization"),
        ("tensor/test_slice", "Slice"), ("tensor/test_slice_neg_steps", "Slice"), ("tensor/test_slice_negative_axes", "Slice"),
        ("tensor/test_gather_0", "Gather"), ("tensor/test_concat_3d_axis_negative_1", "Concat"),
        ("tensor/test_flatten_axis2", "Reshape"), ("tensor/test_reshape_reordered_all_dims", "Reshape"),
        ("elementwise/test_reduce_sum_keepdims_random", "ReduceSum"), ("elementwise/test_reduce_mean_do_not_keepdims_random", "ReduceMean"),
        ("elementwise/test_reduce_max_keepdims_random", "ReduceMax"),
        ("nn/test_gridsample_bilinear", "GridSample"),
        ("nn/test_gridsample_border_padding", "GridSample"), ("nn/test_gridsample_aligncorners_true", "GridSample"),
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
