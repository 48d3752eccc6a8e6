import Foundation
import SegGraph
import SegONNX
import SegReference
import SegTensor
import Testing

/// Shape inference of the nn family: symbolic batch dims kept, spatial dims computed from
/// window attributes, Resize sizes from constant scales/sizes.
@Suite struct NNInferenceTests {
    typealias H = NNHarness

    /// Every nn conformance case, inferred from its real input shapes, agrees with the expected
    /// outputs (dtype always, every dim that inference knows).
    @Test func inferenceAgreesWithConformanceOutputs() throws {
        let r = try InferenceConformanceCheck.run(family: "nn")
        #expect(r.cases > 150)
        #expect(r.fullyKnown > 150)
    }

    @Test func convKeepsSymbolicBatchAndComputesSpatialDims() throws {
        let w = try H.ramp([8, 3, 3, 3])
        let strided = try H.inferred("Conv", opset: 11, types: [H.type(.f32, [.param("N"), .value(3), .value(360), .value(480)]), nil],
                                     constants: [1: w], attributes: [NamedAttribute("strides", .ints([2, 2])), NamedAttribute("pads", .ints([1, 1, 1, 1]))])
        #expect(strided[0] == H.type(.f32, [.param("N"), .value(8), .value(180), .value(240)]))
        let same = try H.inferred("Conv", opset: 11, types: [H.type(.f32, [.param("N"), .value(3), .value(7), .param("W")]), nil],
                                  constants: [1: w], attributes: [NamedAttribute("strides", .ints([2, 2])), NamedAttribute("auto_pad", .string("SAME_LOWER")),
                                                                 NamedAttribute("dilations", .ints([2, 2]))])
        #expect(same[0] == H.type(.f32, [.param("N"), .value(8), .value(4), .unknown]))
    }

    @Test func poolsAndConvTranspose() throws {
        let x = H.type(.f32, [.param("N"), .value(4), .value(9), .value(10)])
        let pool = try H.inferred("MaxPool", opset: 12, types: [x], attributes: [NamedAttribute("kernel_shape", .ints([3, 3])),
                                  NamedAttribute("strides", .ints([2, 2])), NamedAttribute("ceil_mode", .int(1))], outputs: 2)
        #expect(pool[0] == H.type(.f32, [.param("N"), .value(4), .value(4), .value(5)]))
        #expect(pool[1] == H.type(.i64, [.param("N"), .value(4), .value(4), .value(5)]))
        let global = try H.inferred("GlobalAveragePool", opset: 1, types: [x])
        #expect(global[0] == H.type(.f32, [.param("N"), .value(4), .value(1), .value(1)]))
        let up = try H.inferred("ConvTranspose", opset: 11, types: [x, nil], constants: [1: try H.ramp([4, 2, 4, 4])],
                                attributes: [NamedAttribute("strides", .ints([2, 2])), NamedAttribute("pads", .ints([1, 1, 1, 1])),
                                             NamedAttribute("group", .int(2))])
        #expect(up[0] == H.type(.f32, [.param("N"), .value(4), .value(18), .value(20)]))
    }

    @Test func resizeFromConstantScalesOrSizes() throws {
        let x = H.type(.f32, [.param("N"), .value(19), .value(90), .value(120)])
        let byScales = try H.inferred("Resize", opset: 13, types: [x, nil, nil], constants: [2: try H.f32([1, 1, 4, 4])],
                                      attributes: [NamedAttribute("mode", .string("linear"))])
        #expect(byScales[0] == H.type(.f32, [.param("N"), .value(19), .value(360), .value(480)]))
        let concrete = H.type(.f32, [.value(1), .value(19), .value(90), .value(120)])
        let bySizes = try H.inferred("Resize", opset: 18, types: [concrete, nil, nil, nil], constants: [3: try H.i64([200, 200])],
                                     attributes: [NamedAttribute("axes", .ints([2, 3])), NamedAttribute("keep_aspect_ratio_policy", .string("not_larger"))])
        #expect(bySizes[0] == H.type(.f32, [.value(1), .value(19), .value(150), .value(200)]))
        let runtime = try H.inferred("Resize", opset: 13, types: [x, nil, nil, H.type(.i64, [.value(4)])])
        #expect(runtime[0] == H.type(.f32, [.unknown, .unknown, .unknown, .unknown]))
    }

    @Test func matmulEinsumAndNormStatistics() throws {
        let mm = try H.inferred("MatMul", opset: 13, types: [H.type(.f32, [.param("B"), .value(1), .value(5), .value(4)]), H.type(.f32, [.value(3), .value(4), .value(6)])])
        #expect(mm[0] == H.type(.f32, [.param("B"), .value(3), .value(5), .value(6)]))
        let ln = try H.inferred("LayerNormalization", opset: 17, types: [H.type(.f16, [.param("N"), .value(8), .value(16)]), H.type(.f16, [.value(16)])],
                                outputs: 3)
        #expect(ln[0] == H.type(.f16, [.param("N"), .value(8), .value(16)]))
        #expect(ln[1] == H.type(.f32, [.param("N"), .value(8), .value(1)]))
        let es = try H.inferred("Einsum", opset: 12, types: [H.type(.f32, [.value(2), .value(3)]), H.type(.f32, [.value(3), .value(5)])],
                                attributes: [NamedAttribute("equation", .string("ij,jk"))])
        #expect(es[0] == H.type(.f32, [.value(2), .value(5)]))
    }
}
