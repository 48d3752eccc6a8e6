import Foundation
import SegGraph
import SegReference
import SegTensor
import Testing

/// Elementwise semantics the conformance cases miss: opset-version differences, the Cast and
/// Clip cases the fixture script cannot write, integer edge cases (values from ORT 1.x CPU on
/// x86-64), and load-time refusals.
@Suite struct ElementwiseOperatorTests {
    typealias H = ElementwiseHarness

    @Test func softmaxFlattensBeforeOpset13() throws {
        let x = try H.f32([1, 2, 2], [0, 1, 2, 3])
        let axis = [NamedAttribute("axis", .int(1))]
        let e = (0..<4).map { exp(Double($0)) }
        // Opset 11: one row of all four values.
        let old = try H.run("Softmax", opset: 11, [x], attributes: axis).scalars(as: Float.self)
        for i in 0..<4 { #expect(abs(Double(old[i]) - e[i] / e.reduce(0, +)) < 1e-6) }
        // Opset 13: along axis 1 only, pairing (0, 2) and (1, 3).
        let new = try H.run("Softmax", opset: 13, [x], attributes: axis).scalars(as: Float.self)
        #expect(abs(Double(new[0]) - e[0] / (e[0] + e[2])) < 1e-6)
        #expect(abs(Double(new[3]) - e[3] / (e[1] + e[3])) < 1e-6)
        // Default axes differ too: 1 before 13, -1 from 13.
        let logOld = try H.run("LogSoftmax", opset: 12, [x]).scalars(as: Float.self)
        #expect(abs(Double(logOld[0]) - log(e[0] / e.reduce(0, +))) < 1e-6)
    }

    @Test func reduceAxesMoveFromAttributeToInput() throws {
        let x = try H.f32([2, 3], [1, 2, 3, 4, 5, 6])
        let attr = try H.run("ReduceSum", opset: 11, [x], attributes: [NamedAttribute("axes", .ints([1]))])
        #expect(attr == (try H.f32([2, 1], [6, 15])))
        let mean = try H.run("ReduceMean", opset: 13, [x], attributes: [NamedAttribute("axes", .ints([0])), NamedAttribute("keepdims", .int(0))])
        #expect(mean == (try H.f32([3], [2.5, 3.5, 4.5])))
        let input = try H.run("ReduceMean", opset: 18, [x, try H.i64([-2])], constants: [1])
        #expect(input == (try H.f32([1, 3], [2.5, 3.5, 4.5])))
        // No axes: everything, or nothing with noop_with_empty_axes (the square still applies).
        #expect(try H.run("ReduceMax", opset: 18, [x]) == (try H.f32([1, 1], [6])))
        let noop = try H.run("ReduceSumSquare", opset: 18, [x], attributes: [NamedAttribute("noop_with_empty_axes", .int(1))])
        #expect(noop == (try H.f32([2, 3], [1, 4, 9, 16, 25, 36])))
        // The attribute form is refused where the axes are an input, and vice versa.
        #expect(throws: ExecutionError.self) { _ = try H.run("ReduceSum", opset: 13, [x], attributes: [NamedAttribute("axes", .ints([1]))]) }
        #expect(throws: ExecutionError.self) { _ = try H.run("ReduceMean", opset: 13, [x], attributes: [NamedAttribute("noop_with_empty_axes", .int(1))]) }
    }

    /// ORT sums integers in Double and clamps; Max/Min stay exact.
    @Test func integerReductionsFollowORT() throws {
        let x = try Tensor(dims: [2, 2], scalars: [1, 2, 3, 5] as [Int32])
        #expect(try H.run("ReduceMean", opset: 18, [x, try H.i64([1])], constants: [1]) == (try Tensor(dims: [2, 1], scalars: [1, 4] as [Int32])))
        let wide = try Tensor(dims: [2, 3], scalars: [Int32.max, Int32.max, Int32.max, 5, 5, 5])
        #expect(try H.run("ReduceSum", opset: 13, [wide, try H.i64([1])], constants: [1]).scalars(as: Int32.self) == [.max, 15])
        #expect(try H.run("ReduceProd", opset: 18, [try Tensor(dims: [3], scalars: [46341, 46341, -1] as [Int32])]).scalars(as: Int32.self) == [.min])
        let long = try Tensor(dims: [2], scalars: [(1 << 53) + 1, 0] as [Int64])
        #expect(try H.run("ReduceSum", opset: 13, [long]).scalars(as: Int64.self) == [1 << 53])
        #expect(try H.run("ReduceMax", opset: 18, [long]).scalars(as: Int64.self) == [(1 << 53) + 1])
        let flags = try Tensor(dims: [2, 2], scalars: [true, false, false, false])
        #expect(try H.run("ReduceMax", opset: 20, [flags, try H.i64([1])], constants: [1]).scalars(as: Bool.self) == [true, false])
    }

    @Test func clipBoundsAsAttributesOrInputs() throws {
        let x = try H.f32([4], [-3, .nan, 0.5, 9])
        let old = try H.run("Clip", opset: 6, [x], attributes: [NamedAttribute("min", .float(-1)), NamedAttribute("max", .float(1))])
        let new = try H.run("Clip", opset: 13, [x, Tensor(scalar: Float(-1)), Tensor(scalar: Float(1))])
        for y in [old, new] {
            let v = try y.scalars(as: Float.self)
            #expect(v[0] == -1 && v[1].isNaN && v[2] == 0.5 && v[3] == 1)
        }
        // Only a max; and min > max gives max everywhere.
        #expect(try H.run("Clip", opset: 13, [x, nil, Tensor(scalar: Float(0))]).scalars(as: Float.self)[3] == 0)
        let ints = try Tensor(dims: [3], scalars: [-100, 0, 100] as [Int8])
        #expect(try H.run("Clip", opset: 12, [ints, Tensor(scalar: Int8(5)), Tensor(scalar: Int8(2))]).scalars(as: Int8.self) == [2, 2, 2])
        #expect(throws: ExecutionError.self) { _ = try H.run("Clip", opset: 13, [x, try H.f32([2], [0, 1])]) }
    }

    @Test func castFollowsORTOnOutOfRangeFloats() throws {
        let x = try H.f32([8], [300.5, -1.5, .nan, 1e10, -1e10, 3e9, 1e19, 2e19])
        func cast(_ code: Int) throws -> Tensor { try H.run("Cast", opset: 13, [x], attributes: [NamedAttribute("to", .int(code))]) }
        #expect(try cast(2).scalars(as: UInt8.self) == [44, 255, 0, 0, 0, 0, 0, 0])
        #expect(try cast(3).scalars(as: Int8.self) == [44, -1, 0, 0, 0, 0, 0, 0])
        #expect(try cast(5).scalars(as: Int16.self) == [300, -1, 0, 0, 0, 0, 0, 0])
        #expect(try cast(4).scalars(as: UInt16.self) == [300, 65535, 0, 0, 0, 0, 0, 0])
        #expect(try cast(6).scalars(as: Int32.self) == [300, -1] + [Int32](repeating: .min, count: 6))
        #expect(try cast(12).scalars(as: UInt32.self) == [300, 4294967295, 2147483648, 0, 2147483648, 3000000000, 0, 0])
        #expect(try cast(7).scalars(as: Int64.self) == [300, -1, .min, 10_000_000_000, -10_000_000_000, 3_000_000_000, .min, .min])
        #expect(try cast(13).scalars(as: UInt64.self)
                == [300, .max, 1 << 63, 10_000_000_000, 18446744063709551616, 3_000_000_000, 9999999980506447872, 0])
        #expect(try cast(9).scalars(as: Bool.self) == [Bool](repeating: true, count: 8))
    }

    @Test func castBetweenFloatsIntegersAndBools() throws {
        let big = try Tensor(dims: [2], scalars: [Int64.max, -3] as [Int64])
        #expect(try H.run("Cast", opset: 19, [big], attributes: [NamedAttribute("to", .int(1)), NamedAttribute("saturate", .int(0))])
                .scalars(as: Float.self) == [0x1p63, -3])
        #expect(try H.run("Cast", opset: 13, [big], attributes: [NamedAttribute("to", .int(3))]).scalars(as: Int8.self) == [-1, -3])
        let half = try H.run("Cast", opset: 13, [try H.f32([2], [65520, 1.5])], attributes: [NamedAttribute("to", .int(10))])
        #expect(try half.scalars(as: Half.self).map(\.floatValue) == [.infinity, 1.5])
        let flags = try Tensor(dims: [2], scalars: [true, false])
        #expect(try H.run("CastLike", opset: 15, [flags, try H.f32([1], [0])]).scalars(as: Float.self) == [1, 0])
        let u = try Tensor(dims: [1], scalars: [UInt64.max])
        #expect(try H.run("Cast", opset: 13, [u], attributes: [NamedAttribute("to", .int(11))]).scalars(as: Double.self) == [0x1p64])
    }

    @Test func integerArithmetic() throws {
        let a = try Tensor(dims: [4], scalars: [7, -7, 7, -7] as [Int32])
        let b = try Tensor(dims: [4], scalars: [2, 2, -2, -2] as [Int32])
        #expect(try H.run("Div", opset: 14, [a, b]).scalars(as: Int32.self) == [3, -3, -3, 3])
        #expect(try H.run("Mod", opset: 13, [a, b]).scalars(as: Int32.self) == [1, 1, -1, -1])
        #expect(try H.run("Mod", opset: 13, [a, b], attributes: [NamedAttribute("fmod", .int(1))]).scalars(as: Int32.self) == [1, -1, 1, -1])
        let base = try Tensor(dims: [6], scalars: [2, 2, -2, 0, 1, 3] as [Int32])
        let exponent = try Tensor(dims: [6], scalars: [-1, 3, -3, -1, -2, 20] as [Int32])
        #expect(try H.run("Pow", opset: 15, [base, exponent]).scalars(as: Int32.self) == [0, 8, 0, .min, 1, .min])
        #expect(try H.run("Add", opset: 14, [try Tensor(dims: [1], scalars: [Int8.max]), try Tensor(dims: [1], scalars: [Int8(1)])])
                .scalars(as: Int8.self) == [.min])
        let zero = try Tensor(dims: [4], scalars: [1, 1, 0, 1] as [Int32])
        #expect(throws: ExecutionError.self) { _ = try H.run("Div", opset: 14, [a, zero]) }
        #expect(throws: ExecutionError.self) { _ = try H.run("Add", opset: 14, [a, try H.f32([1], [1])]) }
    }

    @Test func unsupportedAttributeValuesAreRefusedAtLoad() throws {
        func refusal(_ m: Model) -> String {
            do { _ = try ReferenceExecutor(model: m); return "" } catch { return "\(error)" }
        }
        let x = try H.f32([1], [0])
        let gelu = refusal(H.model("Gelu", opset: 20, inputs: [x], attributes: [NamedAttribute("approximate", .string("erf"))]))
        #expect(gelu.contains("approximate") && gelu.contains("erf"))
        let cast = refusal(H.model("Cast", opset: 13, inputs: [x], attributes: [NamedAttribute("to", .int(16))]))
        #expect(cast.contains("'to'") && cast.contains("16"))
        let argmax = refusal(H.model("ArgMax", opset: 11, inputs: [x], attributes: [NamedAttribute("select_last_index", .int(1))]))
        #expect(argmax.contains("select_last_index"))
        let mod = refusal(H.model("Mod", opset: 13, inputs: [x, x], attributes: [NamedAttribute("fmod", .int(2))]))
        #expect(mod.contains("fmod"))
        // Opset 6 Add had `broadcast`/`axis`; only the opset-7 form is implemented.
        #expect(!refusal(H.model("Add", opset: 6, inputs: [x, x], attributes: [NamedAttribute("broadcast", .int(1))])).isEmpty)
    }

    @Test func argExtremesPickFirstOrLast() throws {
        let x = try H.f32([2, 3], [1, 5, 5, 2, 2, 0])
        #expect(try H.run("ArgMax", opset: 13, [x], attributes: [NamedAttribute("axis", .int(1))]) == (try Tensor(dims: [2, 1], scalars: [1, 0] as [Int64])))
        let last = try H.run("ArgMax", opset: 13, [x], attributes: [NamedAttribute("axis", .int(1)), NamedAttribute("select_last_index", .int(1)), NamedAttribute("keepdims", .int(0))])
        #expect(last == (try Tensor(dims: [2], scalars: [2, 1] as [Int64])))
        let ints = try Tensor(dims: [2, 2], scalars: [UInt64.max, 1, 0, 1])
        #expect(try H.run("ArgMin", opset: 13, [ints]).scalars(as: Int64.self) == [1, 0])
    }
}


/// One-node models for the elementwise family's own tests.
enum ElementwiseHarness {
    /// A model with one `op` node reading `inputs` (nil: an omitted optional input) and writing
    /// `y`. Inputs listed in `constants` become initializers instead of graph inputs.
    static func model(_ op: String, opset: Int, inputs: [Tensor?], attributes: [NamedAttribute] = [],
                      constants: Set<Int> = [], inputTypes: [Int: TensorType] = [:]) -> Model {
        var graph = Graph(name: op)
        var names: [String] = []
        for (i, t) in inputs.enumerated() {
            guard let t else { names.append(""); continue }
            let name = "in\(i)"
            names.append(name)
            if constants.contains(i) {
                graph.initializers[name] = t
            } else {
                let type = inputTypes[i] ?? TensorType(elementType: t.dtype, shape: t.dims.map { .value($0) })
                graph.inputs.append(ValueInfo(name: name, type: type))
            }
        }
        graph.nodes = [Node(name: "n", opType: op, inputs: names, outputs: ["y"], attributes: attributes)]
        graph.outputs = [ValueInfo(name: "y")]
        return Model(graph: graph, opsetImports: [OpsetImport(domain: "", version: opset)])
    }

    /// Runs the one-node model and returns `y`.
    static func run(_ op: String, opset: Int, _ inputs: [Tensor?], attributes: [NamedAttribute] = [],
                    constants: Set<Int> = []) throws -> Tensor {
        let m = model(op, opset: opset, inputs: inputs, attributes: attributes, constants: constants)
        var feeds: [String: Tensor] = [:]
        for (i, t) in inputs.enumerated() where !constants.contains(i) { if let t { feeds["in\(i)"] = t } }
        guard let y = try ReferenceExecutor(model: m).run(feeds)["y"] else { throw HarnessError.noOutput }
        return y
    }

    /// The inferred type of `y` for the one-node model with `types` as graph input types.
    static func inferred(_ op: String, opset: Int, types: [TensorType], attributes: [NamedAttribute] = [],
                         constants: [Int: Tensor] = [:]) throws -> TensorType? {
        var inputs: [Tensor?] = []
        var inputTypes: [Int: TensorType] = [:]
        for i in 0..<max(types.count, (constants.keys.max() ?? -1) + 1) {
            if let c = constants[i] { inputs.append(c); continue }
            inputs.append(Tensor(scalar: Float(0)))  // placeholder; the declared type is what inference reads
            if i < types.count { inputTypes[i] = types[i] }
        }
        let m = model(op, opset: opset, inputs: inputs, attributes: attributes, constants: Set(constants.keys), inputTypes: inputTypes)
        return try ShapeInference(model: m).types["y"]
    }

    enum HarnessError: Error { case noOutput }

    static func f32(_ dims: [Int], _ values: [Float]) throws -> Tensor { try Tensor(dims: dims, scalars: values) }
    static func i64(_ values: [Int64]) throws -> Tensor { try Tensor(dims: [values.count], scalars: values) }
    static func type(_ dtype: DType, _ dims: [SegGraph.Dimension]) -> TensorType { TensorType(elementType: dtype, shape: dims) }
}
