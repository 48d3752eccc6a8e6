import SegGraph
import SegKernels
import SegReference
import SegRuntime
import SegTensor
import Testing

/// The bilinear GridSample kernel against the reference executor (the spec): random shapes,
/// grids reaching past [-1, 1] on both sides, grids as values and as constants, and the modes
/// the kernel leaves to the reference.
@Suite struct GridSampleRuntimeTests {
    /// A reproducible generator (SegTensor's SplitMix64) so a failure names a case that can be rerun.
    typealias Random = SeededGenerator

    static func model(x: [Int], grid: [Int], mode: String, padding: String, align: Int, opset: Int, constantGrid: Tensor?) -> Model {
        var g = Graph(name: "gs")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: x.map { .value($0) }))]
        if let constantGrid {
            g.initializers["grid"] = constantGrid
        } else {
            g.inputs.append(ValueInfo(name: "grid", type: TensorType(elementType: .f32, shape: grid.map { .value($0) })))
        }
        g.nodes = [Node(opType: "GridSample", inputs: ["x", "grid"], outputs: ["y"],
                        attributes: [NamedAttribute("mode", .string(mode)), NamedAttribute("padding_mode", .string(padding)),
                                     NamedAttribute("align_corners", .int(align))])]
        g.outputs = [ValueInfo(name: "y")]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: opset)])
    }

    /// Runs one case both ways; returns the worst |a − e| / (1 + |e|) and the step kinds.
    static func compare(seed: UInt64, mode: String = "linear", padding: String, align: Int, constantGrid: Bool,
                        opset: Int = 20) throws -> (Float, [String: Int]) {
        var r = Random(seed: seed)
        let n = r.int(1...2), c = r.int(1...9), h = r.int(1...7), w = r.int(1...9), ho = r.int(1...6), wo = r.int(1...11)
        let x = try Tensor(dims: [n, c, h, w], scalars: (0..<(n * c * h * w)).map { _ in r.uniform(-2, 2) })
        // Past ±1 by up to 0.6: taps beyond the edges, on the edges and exactly at the corners.
        var gv = (0..<(n * ho * wo * 2)).map { _ in r.uniform(-1.6, 1.6) }
        for k in stride(from: 0, to: gv.count, by: 7) { gv[k] = [-1, 1, 0][k % 3] }
        let grid = try Tensor(dims: [n, ho, wo, 2], scalars: gv)
        let legacyMode = opset < 20 ? (mode == "linear" ? "bilinear" : mode) : mode
        let m = model(x: x.dims, grid: grid.dims, mode: legacyMode, padding: padding, align: align, opset: opset,
                      constantGrid: constantGrid ? grid : nil)
        let inputs = constantGrid ? ["x": x] : ["x": x, "grid": grid]
        let expected = try ReferenceExecutor(model: m).run(inputs)["y"]!.scalars(as: Float.self)
        let compiled = try Compiler().compile(m, inputShapes: inputs.mapValues(\.dims))
        let actual = try compiled.run(inputs)["y"]!.scalars(as: Float.self)
        #expect(actual.count == expected.count)
        return (zip(actual, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0, compiled.kernelCounts)
    }

    @Test(arguments: ["zeros", "border"], [0, 1])
    func bilinearKernelMatchesTheReference(_ padding: String, _ align: Int) throws {
        for seed in UInt64(1)...12 {
            for constantGrid in [false, true] {
                let (worst, kinds) = try Self.compare(seed: seed, padding: padding, align: align, constantGrid: constantGrid, opset: seed % 3 == 0 ? 16 : 20)
                #expect(worst < 1e-5, "seed \(seed) \(padding) align \(align) constant \(constantGrid): worst \(worst)")
                #expect(kinds["GridSample"] == 1, "\(kinds)")
            }
        }
    }

    @Test(arguments: [("nearest", "zeros"), ("cubic", "border"), ("linear", "reflection")])
    func otherModesRunOnTheReference(_ mode: String, _ padding: String) throws {
        let (worst, kinds) = try Self.compare(seed: 5, mode: mode, padding: padding, align: 0, constantGrid: false)
        #expect(worst == 0)
        #expect(kinds["GridSample (reference)"] == 1, "\(kinds)")
    }

    /// An f64 grid (Mask2Former's exports compute the sampling locations in f64) still takes
    /// the kernel, converted to f32 per run as the reference maps it.
    @Test func doubleGridsTakeTheKernel() throws {
        var g = Graph(name: "gs64")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [2, 3, 4, 5].map { .value($0) })),
                    ValueInfo(name: "grid", type: TensorType(elementType: .f64, shape: [2, 6, 4, 2].map { .value($0) }))]
        g.nodes = [Node(opType: "GridSample", inputs: ["x", "grid"], outputs: ["y"])]
        g.outputs = [ValueInfo(name: "y")]
        let m = Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 20)])
        let x = try Tensor(dims: [2, 3, 4, 5], scalars: (0..<120).map { Float(($0 * 7) % 13) - 6 })
        let grid = try Tensor(dims: [2, 6, 4, 2], scalars: (0..<96).map { Double(($0 * 5) % 17) / 6 - 1.4 })
        let inputs = ["x": x, "grid": grid]
        let expected = try ReferenceExecutor(model: m).run(inputs)["y"]!.scalars(as: Float.self)
        let compiled = try Compiler().compile(m, inputShapes: inputs.mapValues(\.dims))
        #expect(compiled.kernelCounts["GridSample"] == 1, "\(compiled.kernelCounts)")
        let actual = try compiled.run(inputs)["y"]!.scalars(as: Float.self)
        #expect(zip(actual, expected).allSatisfy { abs($0 - $1) <= 1e-5 * (1 + abs($1)) })
    }

    /// Direct kernel calls: a single-pixel input (d − 1 = 0 under align_corners) and a NaN grid.
    @Test func degenerateAxesAndNaN() throws {
        let x: [Float] = [3, 5]  // N 1, C 2, 1×1
        let grid: [Float] = [0.3, -0.7, .nan, 0, 5, 5]
        var out = [Float](repeating: 0, count: 6)
        for align in [false, true] {
            try gridSampleBilinear(input: x, batch: 1, channels: 2, inHeight: 1, inWidth: 1, grid: grid, outHeight: 1, outWidth: 3,
                                   output: &out, padding: .border, alignCorners: align)
            #expect(out[0] == 3 && out[3] == 5 && out[2] == 3 && out[5] == 5, "align \(align): \(out)")
            #expect(out[1].isNaN && out[4].isNaN)
        }
        try gridSampleBilinear(input: x, batch: 1, channels: 2, inHeight: 1, inWidth: 1, grid: grid, outHeight: 1, outWidth: 3,
                               output: &out, padding: .zeros, alignCorners: false)
        // Zeros, not aligned: 0.3 → x 0.15, -0.7 → y -0.35: weights 0.85 · 0.65 on the one pixel.
        #expect(abs(out[0] - 3 * 0.85 * 0.65) < 1e-6 && out[2] == 0 && out[5] == 0)
    }
}

extension SeededGenerator {
    /// Uniform in [lo, hi), from the top 24 bits.
    mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}
