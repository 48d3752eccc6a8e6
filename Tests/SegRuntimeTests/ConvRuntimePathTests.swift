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
    func compileAndCompare(_ m: Model, _ inputs: [String: Tensor]) throws -> (kinds: [String: Int], convs: [(kind: String, conv: Conv2D)]) {
        let expected = try ReferenceExecutor(model: m).run(inputs)
        let compiled = try Compiler(options: .standard).compile(m, inputShapes: inputs.mapValues(\.dims))
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
    /// again h ≤ d). So h = 5, d = 5 keeps only the middle row; h = 6 keeps all three.
    @Test(arguments: [(5, true), (6, false)])
    func rowsReadingOnlyPaddingAreTrimmed(height: Int, trimmed: Bool) throws {
        let m = try Self.convModel(cin: 3, h: height, w: 7, cout: 4, kernel: (3, 3), pads: [5, 1, 5, 1], dilations: [5, 1])
        let (kinds, convs) = try compileAndCompare(m, ["x": try T.tensor([1, 3, height, 7], seed: 13)])
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
        let (kinds, convs) = try compileAndCompare(m, ["x": try T.tensor([1, 4, 7, 7], seed: 14)])
        #expect(kinds == [trimmed ? "Conv (taps trimmed)" : "Conv": 1], "\(kinds)")
        let conv = try #require(convs.first?.conv)
        #expect(conv.algorithm == (trimmed ? .pointwise : .implicitGEMM))
        #expect((conv.shape.kernelH, conv.shape.kernelW) == (trimmed ? (1, 1) : (3, 3)))
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
}
