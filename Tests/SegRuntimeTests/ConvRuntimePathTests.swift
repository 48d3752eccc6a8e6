import SegGraph
import SegKernels
import SegReference
import SegRuntime
import SegTensor
import Testing

/// The runtime's conv paths on both sides of the thresholds that pick them, with the path
/// asserted on the compiled plan (`CompiledModel.convolutions`) and the outputs compared with
/// the reference executor's naive Conv (and Add):
/// - tap trimming: kernel rows/columns that read only padding for every output (ASPP-style
///   dilation on a small map) are dropped before the kernel is built;
/// - B read in place for stride-1 convs from 48 output columns;
/// - Conv → Add fused into one step when the residual has the conv's shape and is ready
///   before the conv, and left as two steps otherwise.
@Suite struct ConvRuntimePathTests {
    typealias T = TensorOpsPathTests

    /// Conv (weights [cout, cin, kh, kw], bias) on x [1, cin, h, w], then `tail`.
    static func convModel(cin: Int, h: Int, w: Int, cout: Int, kernel: (Int, Int), pads: [Int], dilations: [Int],
                          tail: [Node] = [], extraInputs: [(String, [Int])] = [], output: String = "c") throws -> Model {
        T.model([Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"],
                      attributes: [NamedAttribute("pads", .ints(pads)), NamedAttribute("dilations", .ints(dilations))])] + tail,
                inputs: [("x", [1, cin, h, w])] + extraInputs, outputs: [output],
                initializers: ["w": try T.tensor([cout, cin, kernel.0, kernel.1], seed: 11), "b": try T.tensor([cout], seed: 12)])
    }

    /// Compiles with the standard options, checks every output against the reference, and
    /// returns the plan's step kinds and its convolutions.
    func compileAndCompare(_ m: Model, _ inputs: [String: Tensor], options: RuntimeOptions = .standard)
        throws -> (kinds: [String: Int], convs: [(kind: String, conv: Conv2D)]) {
        let expected = try ReferenceExecutor(model: m).run(inputs)
        let compiled = try Compiler(options: options).compile(m, inputShapes: inputs.mapValues(\.dims))
        let actual = try compiled.run(inputs)
        #expect(!expected.isEmpty)
        for (name, e) in expected {
            let a = try #require(actual[name], "output \(name)")
            #expect(a.dims == e.dims)
            let x = try a.scalars(as: Float.self), y = try e.scalars(as: Float.self)
            let bad = zip(x, y).filter { !(abs($0 - $1) <= 1e-5 + 1e-4 * abs($1)) }.count
            #expect(x.count == y.count && bad == 0, "\(name): \(bad) of \(y.count) differ from the reference")
        }
        return (compiled.kernelCounts, compiled.convolutions)
    }

    // MARK: - Tap trimming

    /// 3×3, dilation d = pad d on an h-row map: kernel row 0 reads row oy − d (padding for
    /// every oy < h only when h ≤ d), row 2 reads oy + d (padding when oy + d ≥ h for all oy,
    /// again h ≤ d). So h = 5, d = 5 keeps only the middle row; h = 6 keeps all three (and,
    /// with the tapwise path off, runs the whole kernel).
    @Test(arguments: [(5, true), (6, false)])
    func rowsReadingOnlyPaddingAreTrimmed(height: Int, trimmed: Bool) throws {
        let m = try Self.convModel(cin: 3, h: height, w: 7, cout: 4, kernel: (3, 3), pads: [5, 1, 5, 1], dilations: [5, 1])
        let (kinds, convs) = try compileAndCompare(m, ["x": try T.tensor([1, 3, height, 7], seed: 13)], options: Self.withoutTapwise)
        #expect(kinds == [trimmed ? "Conv (taps trimmed)" : "Conv": 1], "\(kinds)")
        let conv = try #require(convs.first?.conv)
        #expect(conv.shape.kernelH == (trimmed ? 1 : 3) && conv.shape.kernelW == 3)
        #expect(conv.shape.outputHeight == height && conv.shape.outputWidth == 7)
    }

    /// ASPP's case: dilation 8 on a 7×7 map reads real input through the centre tap only, so
    /// the conv becomes a 1×1 (pointwise) one; dilation 6 reaches the map's edge and keeps all.
    @Test(arguments: [(8, true), (6, false)])
    func asppDilationBecomesPointwise(dilation: Int, trimmed: Bool) throws {
        let d = dilation
        let m = try Self.convModel(cin: 4, h: 7, w: 7, cout: 5, kernel: (3, 3), pads: [d, d, d, d], dilations: [d, d])
        let (kinds, convs) = try compileAndCompare(m, ["x": try T.tensor([1, 4, 7, 7], seed: 14)], options: Self.withoutTapwise)
        #expect(kinds == [trimmed ? "Conv (taps trimmed)" : "Conv": 1], "\(kinds)")
        let conv = try #require(convs.first?.conv)
        #expect(conv.algorithm == (trimmed ? .pointwise : .implicitGEMM))
        #expect((conv.shape.kernelH, conv.shape.kernelW) == (trimmed ? (1, 1) : (3, 3)))
    }

    // MARK: - Tapwise

    static var withoutTapwise: RuntimeOptions {
        var o = RuntimeOptions.standard
        o.kernels.tapwiseConv = false
        return o
    }

    /// Taps that read padding over most of the output (ASPP: dilation 12 on 23×30 reads the
    /// image at 48% of the 3×3 taps' positions) run tap by tap; a "same" 3×3 conv on a 16×16
    /// map (92% valid) and one with a residual keep the whole kernel; the switch turns it off.
    @Test(arguments: [
        (23, 30, 12, false, true, "Conv+act (tapwise)"),
        (16, 16, 1, false, true, "Conv+act"),
        (23, 30, 12, true, true, "Conv+Add+act"),
        (23, 30, 12, false, false, "Conv+act"),
    ])
    func sparseDilatedConvsRunTapByTap(h: Int, w: Int, d: Int, residual: Bool, enabled: Bool, kind: String) throws {
        let tail = residual
            ? [Node(opType: "Add", inputs: ["c", "r"], outputs: ["s"]), Node(opType: "Relu", inputs: ["s"], outputs: ["y"])]
            : [Node(opType: "Relu", inputs: ["c"], outputs: ["y"])]
        let m = try Self.convModel(cin: 6, h: h, w: w, cout: 5, kernel: (3, 3), pads: [d, d, d, d], dilations: [d, d], tail: tail,
                                   extraInputs: residual ? [("r", [1, 5, h, w])] : [], output: "y")
        var inputs = ["x": try T.tensor([1, 6, h, w], seed: 22)]
        if residual { inputs["r"] = try T.tensor([1, 5, h, w], seed: 23) }
        let (kinds, _) = try compileAndCompare(m, inputs, options: enabled ? .standard : Self.withoutTapwise)
        #expect(kinds == [kind: 1], "\(kinds)")
    }

    // MARK: - B in place

    @Test(arguments: [(47, false), (48, true)])
    func stride1ConvReadsBInPlaceFrom48Columns(width: Int, inPlace: Bool) throws {
        // 5×3 kernel: never Winograd, whatever the options say. 12 rows: the padded edge rows
        // skip 6 of 60 kernel-row passes, too few for row bands (which would take precedence).
        let m = try Self.convModel(cin: 3, h: 12, w: width, cout: 4, kernel: (5, 3), pads: [2, 1, 2, 1], dilations: [1, 1])
        let (kinds, convs) = try compileAndCompare(m, ["x": try T.tensor([1, 3, 12, width], seed: 15)])
        #expect(kinds == ["Conv": 1], "\(kinds)")
        let conv = try #require(convs.first?.conv)
        #expect(conv.algorithm == .implicitGEMM && conv.rowBandKernelRows.isEmpty && conv.readsInputInPlace == inPlace)
    }

    // MARK: - Conv → Add

    /// The residual shaped like the conv's output is fused into the conv's epilogue; a
    /// per-channel one ([1, C, 1, 1], a broadcast) is not, and runs as its own Add step.
    @Test(arguments: [([1, 4, 6, 48], true), ([1, 4, 1, 1], false)])
    func residualAddFusesOnlyWhenShapedLikeTheOutput(residual: [Int], fused: Bool) throws {
        let m = try Self.convModel(cin: 3, h: 6, w: 48, cout: 4, kernel: (3, 3), pads: [1, 1, 1, 1], dilations: [1, 1],
                                   tail: [Node(opType: "Add", inputs: ["c", "r"], outputs: ["y"])], extraInputs: [("r", residual)], output: "y")
        let (kinds, convs) = try compileAndCompare(m, ["x": try T.tensor([1, 3, 6, 48], seed: 16), "r": try T.tensor(residual, seed: 17)])
        #expect(kinds == (fused ? ["Conv+Add": 1] : ["Conv": 1, "Add": 1]), "\(kinds)")
        #expect(convs.count == 1)
    }

    /// A residual produced after the conv (in topological order) cannot be read by the fused
    /// step; one produced before it can.
    @Test(arguments: [false, true])
    func residualMustBeReadyBeforeTheConv(producedBefore: Bool) throws {
        let sigmoid = Node(opType: "Sigmoid", inputs: ["x"], outputs: ["r"])
        let conv = Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"],
                        attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1]))])
        let add = Node(opType: "Add", inputs: ["c", "r"], outputs: ["y"])
        let m = T.model(producedBefore ? [sigmoid, conv, add] : [conv, sigmoid, add], inputs: [("x", [1, 4, 5, 5])], outputs: ["y"],
                        initializers: ["w": try T.tensor([4, 4, 3, 3], seed: 18), "b": try T.tensor([4], seed: 19)])
        let (kinds, _) = try compileAndCompare(m, ["x": try T.tensor([1, 4, 5, 5], seed: 20)])
        #expect(kinds == (producedBefore ? ["Conv+Add": 1, "Sigmoid": 1] : ["Conv": 1, "Sigmoid": 1, "Add": 1]), "\(kinds)")
    }

    /// The three paths together: a trimmed ASPP conv with a fused residual and activation.
    @Test func trimmedConvWithResidualAndRelu() throws {
        let m = try Self.convModel(cin: 4, h: 7, w: 7, cout: 4, kernel: (3, 3), pads: [8, 8, 8, 8], dilations: [8, 8],
                                   tail: [Node(opType: "Add", inputs: ["x", "c"], outputs: ["s"]), Node(opType: "Relu", inputs: ["s"], outputs: ["y"])],
                                   output: "y")
        let (kinds, convs) = try compileAndCompare(m, ["x": try T.tensor([1, 4, 7, 7], seed: 21)])
        #expect(kinds == ["Conv+Add+act (taps trimmed)": 1], "\(kinds)")
        #expect(convs.first?.conv.algorithm == .pointwise && convs.first?.conv.activation == .relu)
    }

    // MARK: - Exporter forms (paddle2onnx's PP-LiteSeg)

    /// One Conv with `attributes` (no pads unless given), weights [cout, cin/group, k, k].
    static func formModel(cin: Int, hw: (Int, Int), cout: Int, k: Int, group: Int, attributes: [NamedAttribute]) throws -> Model {
        T.model([Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"],
                      attributes: attributes + [NamedAttribute("group", .int(group))])],
                inputs: [("x", [1, cin, hw.0, hw.1])], outputs: ["c"],
                initializers: ["w": try T.tensor([cout, cin / group, k, k], seed: 31), "b": try T.tensor([cout], seed: 32)])
    }

    /// paddle2onnx writes `auto_pad = SAME_UPPER` on PaddleSeg's `padding='same'` convs, 1×1
    /// ones included, and strided grouped 3×3 convs in STDC's downsampling blocks. Each must
    /// land on the kernel its explicit-pads twin gets (a 1×1 SAME conv is a pointwise GEMM; a
    /// stride-2 SAME 3×3 on an even map pads only bottom/right), never on the reference.
    @Test(arguments: [
        // (cin, h, w, cout, k, stride, group, algorithm)
        (8, 9, 10, 12, 1, 1, 1, Conv2D.Algorithm.pointwise),
        (8, 9, 10, 16, 1, 1, 4, .pointwise),
        (6, 10, 12, 6, 3, 2, 6, .depthwise),
        (6, 11, 13, 6, 3, 2, 6, .depthwise),
        (8, 10, 12, 8, 3, 2, 4, .implicitGEMM),
        (8, 10, 12, 12, 3, 2, 2, .implicitGEMM),
        (8, 9, 9, 8, 3, 1, 1, .implicitGEMM),
    ])
    func sameUpperAndGroupedStridedConvsTakeKernels(cin: Int, h: Int, w: Int, cout: Int, k: Int, stride: Int, group: Int,
                                                    algorithm: Conv2D.Algorithm) throws {
        var attributes = [NamedAttribute("auto_pad", .string("SAME_UPPER")), NamedAttribute("strides", .ints([stride, stride]))]
        if k > 1 { attributes.append(NamedAttribute("kernel_shape", .ints([k, k]))) }
        let m = try Self.formModel(cin: cin, hw: (h, w), cout: cout, k: k, group: group, attributes: attributes)
        let x = try T.tensor([1, cin, h, w], seed: 33)
        let (kinds, convs) = try compileAndCompare(m, ["x": x])
        #expect(kinds == ["Conv": 1], "\(kinds)")
        let conv = try #require(convs.first?.conv)
        #expect(conv.algorithm == algorithm, "\(conv.summary)")
        // SAME_UPPER: output ceil(in / stride), the odd pad at the end.
        #expect(conv.outputHeight == (h + stride - 1) / stride && conv.outputWidth == (w + stride - 1) / stride)
        let total = max(0, (conv.outputHeight - 1) * stride + k - h)
        #expect(conv.shape.pads.top == total / 2 && conv.shape.pads.bottom == total - total / 2)
    }

    /// Per-step profiles name each conv by its shapes and algorithm (`segslim bench --profile`).
    @Test func stepDescriptionNamesShapesAndAlgorithm() throws {
        let m = try Self.formModel(cin: 8, hw: (10, 12), cout: 8, k: 3, group: 4,
                                   attributes: [NamedAttribute("pads", .ints([1, 1, 1, 1])), NamedAttribute("strides", .ints([2, 2]))])
        let compiled = try Compiler(options: .standard).compile(m, inputShapes: ["x": [1, 8, 10, 12]])
        #expect(compiled.stepDescription(0) == "Conv 8→8 3×3/2 g4 @10×12 implicitGEMM")
        var seen: [(Int, String)] = []
        _ = try compiled.run(["x": try T.tensor([1, 8, 10, 12], seed: 34)], profile: { index, kind, _ in seen.append((index, kind)) })
        #expect(seen.map(\.0) == [0] && seen.map(\.1) == ["Conv"])
        #expect(compiled.stepDescription(5) == "?")
    }
}
