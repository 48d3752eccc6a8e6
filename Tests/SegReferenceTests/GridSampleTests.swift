import SegGraph
import SegReference
import SegTensor
import Testing

private typealias H = NNHarness

/// GridSample beyond the spec's own cases (all opset 22, in Conformance/nn): the opset-16 names
/// and limits, rank 3, far reflections, integer X, non-finite grids and inference. Expected
/// values are worked by hand from the spec's coordinate formulas.
@Suite struct GridSampleTests {
    static func attrs(mode: String? = nil, padding: String? = nil, align: Int? = nil) -> [NamedAttribute] {
        var a: [NamedAttribute] = []
        if let mode { a.append(NamedAttribute("mode", .string(mode))) }
        if let padding { a.append(NamedAttribute("padding_mode", .string(padding))) }
        if let align { a.append(NamedAttribute("align_corners", .int(align))) }
        return a
    }

    static func sample(_ x: Tensor, _ grid: [Float], gridDims: [Int], opset: Int = 20, mode: String? = nil, padding: String? = nil,
                       align: Int? = nil) throws -> [Float] {
        let g = try Tensor(dims: gridDims, scalars: grid)
        return try H.run("GridSample", opset: opset, [x, g], attributes: attrs(mode: mode, padding: padding, align: align))[0].scalars(as: Float.self)
    }

    /// X = [[1, 2], [3, 4]]; the grid's centre (0, 0) is the middle of the four pixels and the
    /// corner (-1, -1) is pixel (0, 0)'s centre when aligned, its outer corner (-0.5, -0.5) when not.
    @Test func bilinearCentreAndCornerUnderEachPadding() throws {
        let x = try H.floats([1, 1, 2, 2], [1, 2, 3, 4])
        let grid: [Float] = [0, 0, -1, -1]
        #expect(try Self.sample(x, grid, gridDims: [1, 1, 2, 2], opset: 16, mode: "bilinear", align: 1) == [2.5, 1])
        #expect(try Self.sample(x, grid, gridDims: [1, 1, 2, 2], mode: "linear", padding: "zeros") == [2.5, 0.25])
        #expect(try Self.sample(x, grid, gridDims: [1, 1, 2, 2], padding: "border") == [2.5, 1])
        #expect(try Self.sample(x, grid, gridDims: [1, 1, 2, 2], padding: "reflection") == [2.5, 1])
    }

    /// The opset-16 names run the same sampling as the opset-20 ones.
    @Test func opset16NamesMatchOpset20() throws {
        let x = try H.ramp([1, 2, 3, 4])
        let grid: [Float] = [-0.9, 0.3, 0.25, -1.2, 1.4, 0.1, 0.6, 0.7]
        for (old, new) in [("bilinear", "linear"), ("bicubic", "cubic"), ("nearest", "nearest")] {
            for padding in ["zeros", "border", "reflection"] {
                let a = try Self.sample(x, grid, gridDims: [1, 2, 2, 2], opset: 16, mode: old, padding: padding)
                let b = try Self.sample(x, grid, gridDims: [1, 2, 2, 2], opset: 20, mode: new, padding: padding)
                #expect(a == b, "\(old)/\(padding)")
                #expect(a.count == 8)
            }
        }
    }

    @Test func modesAndRanksAreCheckedPerOpset() throws {
        let x4 = H.type(.f32, [.value(1), .value(1), .value(2), .value(2)])
        let g4 = H.type(.f32, [.value(1), .value(3), .value(3), .value(2)])
        let refusal16 = H.refusal(H.model("GridSample", opset: 16, types: [x4, g4], attributes: Self.attrs(mode: "linear")))
        #expect(refusal16?.contains("'linear' is not a GridSample mode at opset 16") == true)
        let refusal20 = H.refusal(H.model("GridSample", opset: 20, types: [x4, g4], attributes: Self.attrs(mode: "bicubic")))
        #expect(refusal20?.contains("'bicubic'") == true)
        #expect(H.refusal(H.model("GridSample", opset: 20, types: [x4, g4], attributes: Self.attrs(padding: "wrap")))?.contains("padding_mode") == true)
        #expect(H.refusal(H.model("GridSample", opset: 20, types: [x4, g4], attributes: Self.attrs(align: 2)))?.contains("align_corners") == true)
        let x5 = try H.ramp([1, 1, 2, 2, 2]), g5 = try Tensor(dims: [1, 1, 1, 1, 3], scalars: [Float](repeating: 0, count: 3))
        #expect(throws: (any Error).self) { _ = try H.run("GridSample", opset: 16, [x5, g5]) }
        // Volumetric at 20: the centre of a 2x2x2 ramp is the mean of its eight values.
        #expect(try H.run("GridSample", opset: 20, [x5, g5])[0].scalars(as: Float.self) == [3.5])
        let wrongLast = try Tensor(dims: [1, 1, 1, 3], scalars: [Float](repeating: 0, count: 3))
        #expect(throws: (any Error).self) { _ = try H.run("GridSample", opset: 20, [try H.ramp([1, 1, 2, 2]), wrongLast]) }
    }

    /// Rank 3 (one spatial axis) at opset 20. x = g + 1 on three aligned pixels [10, 20, 30]:
    /// g = 4 puts x at 5, which reflects off 2 to -1 and off 0 to 1 (20); g = -6 puts x at -5,
    /// reflecting to 5, then -1, then 1 (20).
    @Test func farReflectionsFoldBackIntoRange() throws {
        let x = try H.floats([1, 1, 3], [10, 20, 30])
        let grid: [Float] = [4, -6, 0.5, -1.5]
        // Nearest rounds half to even: 0.5 -> x 1.5 -> 2 (30); -1.5 -> x -0.5 -> 0 (10).
        #expect(try Self.sample(x, grid, gridDims: [1, 4, 1], mode: "nearest", padding: "reflection", align: 1) == [20, 20, 30, 10])
        // Linear: 0.5 -> x 1.5 (25); -1.5 -> x -0.5 reflects to 0.5 (15).
        #expect(try Self.sample(x, grid, gridDims: [1, 4, 1], padding: "reflection", align: 1) == [20, 20, 25, 15])
        // Border clamps to the edge pixels.
        #expect(try Self.sample(x, grid, gridDims: [1, 4, 1], padding: "border", align: 1) == [30, 10, 25, 10])
    }

    /// Cubic with Keys' A = -0.75 at fraction 0.5: weights -0.09375, 0.59375, 0.59375, -0.09375.
    @Test func cubicUsesKeysWeights() throws {
        let x = try H.floats([1, 1, 4], [0, 8, 16, 0])
        // Aligned, d = 4: x = (g + 1) · 1.5; g = 0 gives x = 1.5, between pixels 1 and 2.
        let y = try Self.sample(x, [0], gridDims: [1, 1, 1], mode: "cubic", align: 1)
        #expect(abs(y[0] - Float(-0.09375 * 0 + 0.59375 * 8 + 0.59375 * 16 - 0.09375 * 0)) < 1e-5)
    }

    @Test func nonFiniteGridsDoNotTrap() throws {
        let x = try H.floats([1, 1, 2, 2], [1, 2, 3, 4])
        let grid: [Float] = [.nan, 0, .infinity, 0, -.infinity, -.infinity, 1e30, 0]
        for mode in ["linear", "nearest", "cubic"] {
            for padding in ["zeros", "border", "reflection"] {
                let y = try Self.sample(x, grid, gridDims: [1, 1, 4, 2], mode: mode, padding: padding)
                #expect(y[0].isNaN, "\(mode)/\(padding)")
                if padding == "zeros" { #expect(Array(y[1...]) == [0, 0, 0], "\(mode)") }
                // Row: y 0.5 rounds to 0; column: +inf and 1e30 clamp to 1, -inf to 0.
                if padding == "border" && mode == "nearest" { #expect(Array(y[1...]) == [2, 1, 2]) }
            }
        }
    }

    /// Integer X computes in f64 and truncates toward zero: the centre of [[1, 2], [4, 4]] is 2.75.
    @Test func integerInputTruncates() throws {
        let x = try Tensor(dims: [1, 1, 2, 2], scalars: [Int32(1), 2, 4, 4])
        let g = try Tensor(dims: [1, 1, 1, 2], scalars: [Float(0), 0])
        let y = try H.run("GridSample", opset: 20, [x, g])[0]
        #expect(y.dtype == .i32)
        #expect(try y.scalars(as: Int32.self) == [2])
    }

    @Test func inferenceTakesBatchAndChannelsFromXAndSizesFromTheGrid() throws {
        let x = H.type(.f16, [.param("n"), .value(8), .value(32), .value(32)])
        let g = H.type(.f32, [.param("n"), .value(100), .value(4), .value(2)])
        let t = try H.inferred("GridSample", opset: 16, types: [x, g])[0]
        #expect(t == H.type(.f16, [.param("n"), .value(8), .value(100), .value(4)]))
        let x5 = H.type(.f32, [.value(1), .value(2), .value(3), .value(4), .value(5)])
        let g5 = H.type(.f32, [.value(1), .value(6), .value(7), .value(8), .value(3)])
        #expect(try H.inferred("GridSample", opset: 20, types: [x5, g5])[0] == H.type(.f32, [.value(1), .value(2), .value(6), .value(7), .value(8)]))
        #expect(throws: (any Error).self) { _ = try H.inferred("GridSample", opset: 16, types: [x5, g5]) }
    }
}
