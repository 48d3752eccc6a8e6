import Foundation
import SegGraph
import SegONNX
import SegReference
import SegTensor
import Testing

/// Shape inference of the elementwise family: symbolic dims, constant axes, output dtypes.
@Suite struct ElementwiseInferenceTests {
    typealias H = ElementwiseHarness

    /// Every elementwise conformance case, inferred from its real input shapes, must agree with
    /// the expected outputs wherever a dim is known (the dtype always).
    @Test func inferenceAgreesWithConformanceOutputs() throws {
        let r = try InferenceConformanceCheck.run(family: "elementwise")
        #expect(r.cases > 300)
        // Only reductions with run-time axes may leave dims unknown.
        #expect(r.fullyKnown > 250)
    }

    @Test func broadcastKeepsSymbolicDims() throws {
        let t = try H.inferred("Add", opset: 14, types: [H.type(.f32, [.param("N"), .value(3), .value(1)]), H.type(.f32, [.value(1), .param("W")])])
        #expect(t == H.type(.f32, [.param("N"), .value(3), .param("W")]))
        let w = try H.inferred("Where", opset: 16, types: [H.type(.bool, [.param("N"), .value(1)]), H.type(.i64, [.value(4)]), H.type(.i64, [])])
        #expect(w == H.type(.i64, [.param("N"), .value(4)]))
        let e = try H.inferred("Equal", opset: 19, types: [H.type(.i32, [.value(2)]), H.type(.i32, [.value(1)])])
        #expect(e == H.type(.bool, [.value(2)]))
    }

    @Test func staticDimsThatCannotBroadcastFailAtLoad() {
        #expect(throws: ExecutionError.self) {
            _ = try H.inferred("Mul", opset: 14, types: [H.type(.f32, [.value(2), .value(3)]), H.type(.f32, [.value(4)])])
        }
    }

    @Test func reductionsWithConstantAxes() throws {
        let x = H.type(.f32, [.param("N"), .value(8), .param("H"), .param("W")])
        let kept = try H.inferred("ReduceMean", opset: 18, types: [x], constants: [1: try H.i64([2, -1])])
        #expect(kept == H.type(.f32, [.param("N"), .value(8), .value(1), .value(1)]))
        let dropped = try H.inferred("ReduceSum", opset: 13, types: [x], attributes: [NamedAttribute("keepdims", .int(0))],
                                     constants: [1: try H.i64([1])])
        #expect(dropped == H.type(.f32, [.param("N"), .param("H"), .param("W")]))
        // Opset 11: axes is an attribute; none means every axis.
        let all = try H.inferred("ReduceMax", opset: 11, types: [x], attributes: [NamedAttribute("keepdims", .int(0))])
        #expect(all == H.type(.f32, []))
        // Axes only known at run time: the rank survives with keepdims.
        let unknown = try H.inferred("ReduceL2", opset: 18, types: [x, H.type(.i64, [.value(1)])])
        #expect(unknown == H.type(.f32, [.unknown, .unknown, .unknown, .unknown]))
    }

    @Test func outputDtypes() throws {
        let x = H.type(.f16, [.param("N"), .value(5)])
        #expect(try H.inferred("ArgMax", opset: 13, types: [x], attributes: [NamedAttribute("axis", .int(-1)), NamedAttribute("keepdims", .int(0))])
                == H.type(.i64, [.param("N")]))
        #expect(try H.inferred("Cast", opset: 19, types: [x], attributes: [NamedAttribute("to", .int(7))]) == H.type(.i64, [.param("N"), .value(5)]))
        #expect(try H.inferred("CastLike", opset: 15, types: [x, H.type(.u8, [])]) == H.type(.u8, [.param("N"), .value(5)]))
        #expect(try H.inferred("IsNaN", opset: 20, types: [x]) == H.type(.bool, [.param("N"), .value(5)]))
        #expect(try H.inferred("Pow", opset: 15, types: [x, H.type(.i32, [])]) == x)
    }
}
