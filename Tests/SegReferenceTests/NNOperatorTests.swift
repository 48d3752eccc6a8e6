import Foundation
import SegGraph
import SegReference
import SegTensor
import Testing

/// Behaviour of the nn family the conformance cases cover thinly: load-time refusals, opset
/// differences, ORT's rounding, and bad inputs answered with errors.
@Suite struct NNOperatorTests {
    typealias H = NNHarness

    @Test func unsupportedAttributeValuesAreRefusedAtLoadNamingThem() throws {
        let x = H.type(.f32, [.value(1), .value(1), .value(4), .value(4)])
        let area = H.model("Resize", opset: 13, types: [x, nil, nil], constants: [2: try H.f32([1, 1, 2, 2])],
                           attributes: [NamedAttribute("mode", .string("area"))])
        let message = try #require(H.refusal(area))
        #expect(message.contains("mode") && message.contains("area"))
        let symmetric = H.model("Resize", opset: 18, types: [x, nil, nil], constants: [2: try H.f32([1, 1, 2, 2])],
                                attributes: [NamedAttribute("coordinate_transformation_mode", .string("half_pixel_symmetric"))])
        #expect(H.refusal(symmetric)?.contains("half_pixel_symmetric") == true)
        let pad = H.model("Conv", opset: 11, types: [x, nil], constants: [1: try H.ramp([1, 1, 3, 3])],
                          attributes: [NamedAttribute("auto_pad", .string("SAME"))])
        #expect(H.refusal(pad)?.contains("auto_pad") == true)
        let stride = H.model("Conv", opset: 11, types: [x, nil], constants: [1: try H.ramp([1, 1, 3, 3])],
                             attributes: [NamedAttribute("strides", .ints([0, 1]))])
        #expect(H.refusal(stride)?.contains("strides") == true)
        let unknown = H.model("MaxPool", opset: 12, types: [x], attributes: [NamedAttribute("kernel_shape", .ints([2, 2])), NamedAttribute("spatial", .int(1))])
        #expect(H.refusal(unknown)?.contains("spatial") == true)
    }

    @Test func legacyResizeRoundsNearestLikeORT() throws {
        let x = try H.ramp([1, 1, 1, 10])
        // Opset 10 downsampling: asymmetric coordinates, ceil ("simple" nearest): 0, 2.5→3, 5, 7.5→8.
        let r10 = try H.run("Resize", opset: 10, [x, try H.f32([1, 1, 1, 0.4])], constantInputs: [1])[0]
        #expect(try r10.scalars(as: Float.self) == [0, 3, 5, 8])
        // Opset 11 asymmetric with round_prefer_floor: 2.5→2, 7.5→7.
        let r11 = try H.run("Resize", opset: 11, [x, try H.f32([]), try H.f32([1, 1, 1, 0.4])], constantInputs: [1, 2],
                            attributes: [NamedAttribute("coordinate_transformation_mode", .string("asymmetric"))])[0]
        #expect(try r11.scalars(as: Float.self) == [0, 2, 5, 7])
        // Upsample 7 takes its scales as an attribute.
        let up = try H.run("Upsample", opset: 7, [try H.ramp([1, 1, 1, 2])], attributes: [NamedAttribute("scales", .floats([1, 1, 1, 2]))])[0]
        #expect(try up.scalars(as: Float.self) == [0, 0, 1, 1])
    }

    @Test func resizeIntegerLinearTruncatesLikeORT() throws {
        let x = try Tensor(dims: [1, 1, 1, 4], scalars: [10, 200, 33, 90] as [UInt8])
        let y = try H.run("Resize", opset: 13, [x, nil, try H.f32([1, 1, 1, 1.7])], constantInputs: [2],
                          attributes: [NamedAttribute("mode", .string("linear"))])[0]
        #expect(try y.scalars(as: UInt8.self) == [10, 82, 194, 106, 41, 74])
    }

    @Test func qlinearConvRoundsHalfToEvenAndSaturates() throws {
        // 1x1 conv, weight 4, x_scale·w_scale/y_scale = 0.125: acc 20 → 2.5 → 2, 28 → 3.5 → 4, 1020 → 127.5 → 128;
        // with y_scale 0.01 (×12.5) 250 fits and the rest saturates at 255.
        let x = try Tensor(dims: [1, 1, 1, 3], scalars: [5, 7, 255] as [UInt8])
        let w = try Tensor(dims: [1, 1, 1, 1], scalars: [4] as [Int8])
        let inputs: [Tensor?] = [x, Tensor(scalar: Float(1)), Tensor(scalar: UInt8(0)), w, Tensor(scalar: Float(0.125)),
                                 Tensor(scalar: Int8(0)), Tensor(scalar: Float(1)), Tensor(scalar: UInt8(0))]
        let y = try H.run("QLinearConv", opset: 10, inputs, constantInputs: [1, 2, 3, 4, 5, 6, 7])[0]
        #expect(try y.scalars(as: UInt8.self) == [2, 4, 128])
        var small = inputs
        small[6] = Tensor(scalar: Float(0.01))
        let big = try H.run("QLinearConv", opset: 10, small, constantInputs: [1, 2, 3, 4, 5, 6, 7])[0]
        #expect(try big.scalars(as: UInt8.self) == [250, 255, 255])
    }

    @Test func maxPoolIndicesInBothStorageOrders() throws {
        let x = try H.floats([1, 1, 2, 3], [1, 9, 2, 8, 3, 7])
        let attrs = [NamedAttribute("kernel_shape", .ints([2, 2]))]
        let rowMajor = try H.run("MaxPool", opset: 12, [x], attributes: attrs, outputs: 2)
        #expect(try rowMajor[0].scalars(as: Float.self) == [9, 9])
        #expect(try rowMajor[1].scalars(as: Int64.self) == [1, 1])
        let colMajor = try H.run("MaxPool", opset: 12, [x], attributes: attrs + [NamedAttribute("storage_order", .int(1))], outputs: 2)
        #expect(try colMajor[1].scalars(as: Int64.self) == [2, 2])
    }

    @Test func batchNormTrainingModeOutputsRunningStats() throws {
        let x = try H.floats([2, 1, 1, 2], [1, 2, 3, 6])
        let ones = try H.f32([1]), zeros = try H.f32([0])
        let out = try H.run("BatchNormalization", opset: 15, [x, ones, zeros, zeros, ones],
                            attributes: [NamedAttribute("training_mode", .int(1)), NamedAttribute("momentum", .float(0.5)),
                                         NamedAttribute("epsilon", .float(0))], outputs: 3)
        // Batch mean 3, population variance 3.5.
        #expect(try out[1].scalars(as: Float.self) == [1.5])
        #expect(try out[2].scalars(as: Float.self) == [2.25])
        let y = try out[0].scalars(as: Float.self)
        #expect(abs(y[3] - 3 / Float(3.5).squareRoot()) < 1e-6)
    }

    @Test func einsumDiagonalsEllipsisAndImplicitOutput() throws {
        let m = try H.ramp([3, 3])
        #expect(try H.run("Einsum", opset: 12, [m], attributes: [NamedAttribute("equation", .string("ii->i"))])[0].scalars(as: Float.self) == [0, 4, 8])
        #expect(try H.run("Einsum", opset: 12, [m], attributes: [NamedAttribute("equation", .string("ii"))])[0].scalars(as: Float.self) == [12])
        let t = try H.run("Einsum", opset: 12, [try H.ramp([2, 3])], attributes: [NamedAttribute("equation", .string("ba"))])[0]
        #expect(t.dims == [3, 2])
        #expect(try t.scalars(as: Float.self) == [0, 3, 1, 4, 2, 5])
        let e = try H.run("Einsum", opset: 12, [try H.ramp([2, 1, 2]), try H.ramp([3, 2])],
                          attributes: [NamedAttribute("equation", .string("...j,...j->..."))])[0]
        #expect(e.dims == [2, 3])
        #expect(try e.scalars(as: Float.self) == [1, 3, 5, 3, 13, 23])
        #expect(throws: ExecutionError.self) {
            _ = try H.run("Einsum", opset: 12, [m], attributes: [NamedAttribute("equation", .string("i$->i"))])
        }
    }

    @Test func integerMatMulWraps() throws {
        let a = try Tensor(dims: [1, 2], scalars: [Int32.max, 1] as [Int32])
        let b = try Tensor(dims: [2, 1], scalars: [2, 3] as [Int32])
        #expect(try H.run("MatMul", opset: 13, [a, b])[0].scalars(as: Int32.self) == [Int32.max &* 2 &+ 3])
    }

    @Test func badShapesAreErrorsNotCrashes() throws {
        let x = try H.ramp([1, 3, 5, 5])
        #expect(throws: ExecutionError.self) { _ = try H.run("Conv", opset: 11, [x, try H.ramp([2, 2, 3, 3])]) }
        #expect(throws: ExecutionError.self) { _ = try H.run("Conv", opset: 11, [x, try H.ramp([2, 3, 7, 7])]) }
        #expect(throws: ExecutionError.self) { _ = try H.run("MatMul", opset: 13, [x, try H.ramp([4, 2])]) }
        #expect(throws: ExecutionError.self) {
            _ = try H.run("Resize", opset: 13, [x, nil, try H.f32([1, 1, 1e30, 1e30])], constantInputs: [2])
        }
        #expect(throws: ExecutionError.self) {
            _ = try H.run("ConvTranspose", opset: 11, [x, try H.ramp([3, 1, 3, 3])], attributes: [NamedAttribute("output_shape", .ints([40, 40]))])
        }
    }
}
