import SegGraph
import SegReference
import SegTensor
import Testing

/// Tensor-family semantics the conformance cases miss: opset differences, ONNX Runtime's
/// choices where the spec leaves room, and clear errors for bad attributes and inputs.
@Suite struct TensorOperatorTests {
    typealias H = TensorHarness

    @Test func reshapeCopiesZerosUnlessAllowZero() throws {
        let x = try H.iota([2, 0, 3])
        let copied = try H.run("Reshape", opset: 13, [x, try H.i64([0, 3, -1])])[0]
        #expect(copied.dims == [2, 3, 0])
        let zero = try H.run("Reshape", opset: 14, [x, try H.i64([0, 6])], attributes: [NamedAttribute("allowzero", .int(1))])[0]
        #expect(zero.dims == [0, 6])
        #expect(H.failure("Reshape", opset: 13, [try H.iota([2, 3]), try H.i64([-1, -1])])?.contains("more than one -1") == true)
        #expect(H.refusal("Reshape", opset: 13, [x, try H.i64([6])], attributes: [NamedAttribute("allowzero", .int(0))])?.contains("allowzero") == true)
    }

    @Test func gatherWrapsNegativeIndicesAndNamesOutOfRangeOnes() throws {
        let x = try H.iota([3, 2])
        let y = try H.run("Gather", opset: 13, [x, try Tensor(dims: [2], scalars: [-1, 0] as [Int32])])[0]
        #expect(try y.scalars(as: Float.self) == [4, 5, 0, 1])
        let message = H.failure("Gather", opset: 13, [x, try H.i64([3])])
        #expect(message?.contains("input 1") == true && message?.contains("index 3") == true, "\(message ?? "")")
        let nd = H.failure("GatherND", opset: 13, [x, try Tensor(dims: [1, 2], scalars: [0, -3] as [Int64])])
        #expect(nd?.contains("index -3") == true, "\(nd ?? "")")
    }

    @Test func sliceWithNegativeStepsReachesTheFirstElement() throws {
        let x = try H.iota([5])
        let y = try H.run("Slice", opset: 13, [x, try H.i64([-1]), try H.i64([Int64.min]), try H.i64([0]), try H.i64([-2])])[0]
        #expect(try y.scalars(as: Float.self) == [4, 2, 0])
        let old = try H.run("Slice", opset: 9, [x], attributes: [NamedAttribute("starts", .ints([1])), NamedAttribute("ends", .ints([Int.max]))])[0]
        #expect(try old.scalars(as: Float.self) == [1, 2, 3, 4])
        #expect(H.failure("Slice", opset: 13, [x, try H.i64([0]), try H.i64([5]), try H.i64([0]), try H.i64([0])])?.contains("step 0") == true)
    }

    @Test func squeezeAndUnsqueezeTakeAxesAsAttributeBefore13AndInputFrom13() throws {
        let x = try H.iota([1, 3, 1])
        let old = try H.run("Squeeze", opset: 11, [x], attributes: [NamedAttribute("axes", .ints([-1]))])[0]
        #expect(old.dims == [1, 3])
        let new = try H.run("Squeeze", opset: 13, [x, try H.i64([0])])[0]
        #expect(new.dims == [3, 1])
        #expect(try H.run("Squeeze", opset: 13, [x])[0].dims == [3])
        #expect(H.refusal("Squeeze", opset: 13, [x], attributes: [NamedAttribute("axes", .ints([0]))])?.contains("'axes' not supported") == true)
        #expect(H.failure("Squeeze", opset: 13, [x, try H.i64([1])])?.contains("size 3, not 1") == true)
        let u = try H.run("Unsqueeze", opset: 11, [try H.iota([3])], attributes: [NamedAttribute("axes", .ints([0, -1]))])[0]
        #expect(u.dims == [1, 3, 1])
    }

    @Test func splitCutsUnevenlyOnlyFromOpset18() throws {
        let x = try H.iota([7])
        let parts = try H.run("Split", opset: 18, [x], attributes: [NamedAttribute("num_outputs", .int(3))], outputs: 3)
        #expect(parts.map(\.dims) == [[3], [3], [1]])
        #expect(H.failure("Split", opset: 13, [x], outputs: 3)?.contains("3 equal parts") == true)
        let sized = try H.run("Split", opset: 11, [x], attributes: [NamedAttribute("split", .ints([2, 5]))], outputs: 2)
        #expect(try sized[1].scalars(as: Float.self) == [2, 3, 4, 5, 6])
    }

    @Test func dropoutMasksFollowOnnxRuntime() throws {
        let x = try H.iota([2, 2])
        // ORT's Dropout 7-11 writes a zero mask; from 12 the inference mask is all true.
        let old = try H.run("Dropout", opset: 10, [x], attributes: [NamedAttribute("ratio", .float(0.3))], outputs: 2)
        #expect(old[0] == x)
        #expect(try old[1].scalars(as: Bool.self) == [false, false, false, false])
        let new = try H.run("Dropout", opset: 13, [x], outputs: 2)
        #expect(try new[1].scalars(as: Bool.self) == [true, true, true, true])
        let training = H.failure("Dropout", opset: 13, [x, Tensor(scalar: Float(0.5)), Tensor(scalar: true)])
        #expect(training?.contains("training mode") == true)
        let identity = try H.run("Dropout", opset: 13, [x, Tensor(scalar: Float(0)), Tensor(scalar: true)])[0]
        #expect(identity == x)
    }

    @Test func rangeAccumulatesLikeOnnxRuntime() throws {
        let y = try H.run("Range", opset: 11, [Tensor(scalar: Float(0.1)), Tensor(scalar: Float(100)), Tensor(scalar: Float(0.3))])[0]
        var expected: [Float] = []
        var v: Float = 0.1
        for _ in 0..<333 { expected.append(v); v += 0.3 }
        #expect(try y.scalars(as: Float.self) == expected)
        // start + i·delta rounds differently somewhere: the accumulation is the point.
        #expect(expected.indices.contains { expected[$0] != 0.1 + Float($0) * 0.3 })
        let down = try H.run("Range", opset: 11, [Tensor(scalar: Int32(10)), Tensor(scalar: Int32(2)), Tensor(scalar: Int32(-3))])[0]
        #expect(try down.scalars(as: Int32.self) == [10, 7, 4])
    }

    @Test func constantValueAttributes() throws {
        let ints = try H.run("Constant", opset: 13, [], attributes: [NamedAttribute("value_ints", .ints([3, -1]))])[0]
        #expect(ints == (try H.i64([3, -1])))
        let float = try H.run("Constant", opset: 13, [], attributes: [NamedAttribute("value_float", .float(2.5))])[0]
        #expect(float == Tensor(scalar: Float(2.5)))
        let text = H.refusal("Constant", opset: 13, [], attributes: [NamedAttribute("value_string", .string("a"))])
        #expect(text?.contains("value_string") == true && text?.contains("string tensors are not supported") == true, "\(text ?? "")")
        let two = H.refusal("Constant", opset: 13, [], attributes: [NamedAttribute("value_int", .int(1)), NamedAttribute("value_float", .float(1))])
        #expect(two?.contains("exactly one value attribute") == true)
    }

    @Test func unsupportedAttributeValuesAreRefusedAtLoad() throws {
        let x = try H.iota([2, 2])
        let wrap = H.refusal("Pad", opset: 18, [x, try H.i64([1, 1, 1, 1])], attributes: [NamedAttribute("mode", .string("wrap"))])
        #expect(wrap?.contains("'wrap'") == true, "\(wrap ?? "")")
        let reduction = H.refusal("ScatterElements", opset: 16, [x, try Tensor(dims: [1, 1], scalars: [0] as [Int64]), try H.iota([1, 1])],
                            attributes: [NamedAttribute("reduction", .string("max"))])
        #expect(reduction?.contains("reduction") == true && reduction?.contains("'max'") == true, "\(reduction ?? "")")
        let mode = H.refusal("DepthToSpace", opset: 13, [try H.iota([1, 4, 1, 1])],
                             attributes: [NamedAttribute("blocksize", .int(2)), NamedAttribute("mode", .string("XYZ"))])
        #expect(mode?.contains("'XYZ'") == true)
    }

    @Test func absurdShapesAreErrorsNotCrashes() throws {
        let huge = try H.i64([1 << 40, 1 << 40])
        #expect(H.failure("ConstantOfShape", opset: 13, [huge]) != nil)
        #expect(H.failure("Expand", opset: 13, [try H.iota([1]), huge]) != nil)
        #expect(H.failure("Tile", opset: 13, [try H.iota([2]), try H.i64([Int64.max])]) != nil)
        #expect(H.failure("Pad", opset: 13, [try H.iota([2]), try H.i64([Int64.min, 0])]) != nil)
        #expect(H.failure("Reshape", opset: 13, [try H.iota([2]), try H.i64([1 << 62, 1 << 62])]) != nil)
        #expect(H.failure("Range", opset: 11, [Tensor(scalar: Float(0)), Tensor(scalar: Float.infinity), Tensor(scalar: Float(1))]) != nil)
        #expect(H.failure("OneHot", opset: 11, [try H.i64([1]), Tensor(scalar: Int64(1 << 40)), try H.i64([0, 1])]) != nil)
    }

    @Test func padCropsWithNegativePadsBeforeReflecting() throws {
        // [0 1 2 3] cropped by one on the left is [1 2 3]; reflecting two on the right: 2 1.
        let y = try H.run("Pad", opset: 13, [try H.iota([4]), try H.i64([-1, 2])], attributes: [NamedAttribute("mode", .string("reflect"))])[0]
        #expect(try y.scalars(as: Float.self) == [1, 2, 3, 2, 1])
        let filled = try H.run("Pad", opset: 11, [try H.iota([2]), try H.i64([1, 0]), Tensor(scalar: Float(9))])[0]
        #expect(try filled.scalars(as: Float.self) == [9, 0, 1])
    }
}
