import SegGraph
import SegReference
import SegTensor
import Testing

/// Quantization-family arithmetic checked against hand-computed values and ONNX Runtime's
/// outputs (noted where they were taken from ORT 1.32 on x86-64).
@Suite struct QuantizationTests {
    typealias H = TensorHarness

    /// x → QuantizeLinear(scale, zp) → DequantizeLinear(scale, zp), both outputs returned.
    func chain(_ x: [Float], scale: Float, zeroPoint: Tensor, opset: Int = 13) throws -> (q: Tensor, y: Tensor) {
        var graph = Graph(name: "qdq")
        graph.inputs = [ValueInfo(name: "x", type: H.type(.f32, [.value(x.count)]))]
        graph.initializers["s"] = Tensor(scalar: scale)
        graph.initializers["z"] = zeroPoint
        graph.nodes = [
            Node(name: "q", opType: "QuantizeLinear", inputs: ["x", "s", "z"], outputs: ["q"]),
            Node(name: "dq", opType: "DequantizeLinear", inputs: ["q", "s", "z"], outputs: ["y"]),
        ]
        graph.outputs = [ValueInfo(name: "q"), ValueInfo(name: "y")]
        let model = Model(graph: graph, opsetImports: [OpsetImport(domain: "", version: opset)])
        let out = try ReferenceExecutor(model: model).run(["x": try H.f32([x.count], x)])
        return (try #require(out["q"]), try #require(out["y"]))
    }

    @Test func quantizeDequantizeRoundsHalfToEvenAndSaturates() throws {
        // x / 0.5 = 0, 2.5, 3.5, -2.5, 1.5, 400, -400, NaN; + zero point 10, then clamp to u8.
        let x: [Float] = [0, 1.25, 1.75, -1.25, 0.75, 200, -200, .nan]
        let (q, y) = try chain(x, scale: 0.5, zeroPoint: Tensor(scalar: UInt8(10)))
        #expect(try q.scalars(as: UInt8.self) == [10, 12, 14, 8, 12, 255, 0, 0])
        #expect(try y.scalars(as: Float.self) == [0, 1, 2, -1, 1, 122.5, -5, -5])
    }

    @Test func signedTiesAndSaturation() throws {
        let x: [Float] = [2.5, -2.5, 3.5, 0.5, -0.5, 127.5, -128.5, 1e9, -.infinity]
        let (q, y) = try chain(x, scale: 1, zeroPoint: Tensor(scalar: Int8(0)))
        #expect(try q.scalars(as: Int8.self) == [2, -2, 4, 0, 0, 127, -128, 127, -128])
        #expect(try y.scalars(as: Float.self) == [2, -2, 4, 0, 0, 127, -128, 127, -128])
    }

    @Test func perAxisAndBlockedScales() throws {
        let x = try H.f32([2, 3], [1, 1, 1, -1, -1, -1])
        let scales = try H.f32([3], [1, 0.5, 0.25])
        let q = try H.run("QuantizeLinear", opset: 13, [x, scales, try Tensor(dims: [3], scalars: [0, 1, 2] as [Int8])])[0]
        #expect(try q.scalars(as: Int8.self) == [1, 3, 6, -1, -1, -2])
        // Blocks of 2 along axis 1: columns {0, 1} share a scale, column 2 has its own.
        let blocked = try H.run("DequantizeLinear", opset: 21, [try Tensor(dims: [1, 3], scalars: [4, 4, 4] as [UInt8]), try H.f32([1, 2], [0.5, 2])],
                                attributes: [NamedAttribute("axis", .int(1)), NamedAttribute("block_size", .int(2))])[0]
        #expect(try blocked.scalars(as: Float.self) == [2, 2, 8])
        let wrong = H.failure("QuantizeLinear", opset: 13, [x, try H.f32([2], [1, 1])])
        #expect(wrong?.contains("per-axis scale needs shape [3]") == true, "\(wrong ?? "")")
    }

    @Test func dynamicQuantizeMatchesOnnxRuntime() throws {
        // ORT 1.32: y = [0, 46, 114, 255], scale 0.03254902, zero point 37.
        let out = try H.run("DynamicQuantizeLinear", opset: 11, [try H.f32([4], [-1.2, 0.3, 2.5, 7.1])], outputs: 3)
        #expect(try out[0].scalars(as: UInt8.self) == [0, 46, 114, 255])
        #expect(try out[1].scalars(as: Float.self) == [(Float(7.1) - Float(-1.2)) / 255])
        #expect(try out[2].scalars(as: UInt8.self) == [37])
        // All zeros: ORT uses scale 1 rather than dividing by zero.
        let zeros = try H.run("DynamicQuantizeLinear", opset: 11, [try H.f32([3], [0, 0, 0])], outputs: 3)
        #expect(try zeros[1].scalars(as: Float.self) == [1])
        #expect(try zeros[0].scalars(as: UInt8.self) == [0, 0, 0])
    }

    @Test func integerMatMulsWithZeroPoints() throws {
        let a = try Tensor(dims: [2, 2], scalars: [10, 12, 14, 16] as [UInt8])
        let b = try Tensor(dims: [2, 2], scalars: [1, 2, 3, 4] as [Int8])
        // (a − 10) = [[0, 2], [4, 6]]; (b − [1, 2] per column) = [[0, 0], [2, 2]].
        let y = try H.run("MatMulInteger", opset: 10, [a, b, Tensor(scalar: UInt8(10)), try Tensor(dims: [2], scalars: [1, 2] as [Int8])])[0]
        #expect(try y.scalars(as: Int32.self) == [4, 4, 12, 12])
        // Requantized with 0.5 · 1 / 2 = 0.25: 1, 1, 3, 3, + 100.
        let q = try H.run("QLinearMatMul", opset: 10, [a, Tensor(scalar: Float(0.5)), Tensor(scalar: UInt8(10)),
                                                       b, Tensor(scalar: Float(1)), try Tensor(dims: [2], scalars: [1, 2] as [Int8]),
                                                       Tensor(scalar: Float(2)), Tensor(scalar: UInt8(100))])[0]
        #expect(try q.scalars(as: UInt8.self) == [101, 101, 103, 103])
    }

    @Test func attributesOfLaterOpsetsAreRefusedAtLoad() throws {
        let x = try H.f32([2], [1, 2])
        let axis = H.refusal("QuantizeLinear", opset: 10, [x, Tensor(scalar: Float(1))], attributes: [NamedAttribute("axis", .int(0))])
        #expect(axis?.contains("'axis'") == true && axis?.contains("opset 13") == true, "\(axis ?? "")")
        let dtype = H.refusal("QuantizeLinear", opset: 21, [x, Tensor(scalar: Float(1))], attributes: [NamedAttribute("output_dtype", .int(1))])
        #expect(dtype?.contains("output_dtype") == true, "\(dtype ?? "")")
        let precision = H.refusal("QuantizeLinear", opset: 23, [x, Tensor(scalar: Float(1))], attributes: [NamedAttribute("precision", .int(11))])
        #expect(precision?.contains("precision") == true)
        let i16 = try H.run("QuantizeLinear", opset: 21, [x, Tensor(scalar: Float(0.001))], attributes: [NamedAttribute("output_dtype", .int(5))])[0]
        #expect(try i16.scalars(as: Int16.self) == [1000, 2000])
    }
}
