import SegGraph
import SegReference
import SegRewrite
import SegTensor
import Testing

/// Small graphs built in code, as ONNX Runtime's graph-transformer tests build theirs: op
/// counts by type before and after a rewrite, and the reference interpreter's outputs on the
/// original against the rewritten graph.
enum RewriteFixture {
    /// A model over f32 inputs with static shapes.
    static func model(_ nodes: [Node], inputs: [(String, [Int])], outputs: [String], initializers: [String: Tensor] = [:],
                      opset: Int = 17) -> Model {
        var g = Graph(name: "rewrite-test")
        g.inputs = inputs.map { ValueInfo(name: $0.0, type: TensorType(elementType: .f32, shape: $0.1.map { .value($0) })) }
        for (k, v) in initializers.sorted(by: { $0.key < $1.key }) { g.initializers[k] = v }
        g.nodes = nodes
        g.outputs = outputs.map { ValueInfo(name: $0) }
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: opset)])
    }

    /// Op counts keyed "opType" (default domain) or "domain::opType".
    static func ops(_ m: Model) -> [String: Int] {
        var c: [String: Int] = [:]
        for n in m.graph.nodes { c[n.domain.isEmpty ? n.opType : "\(n.domain)::\(n.opType)", default: 0] += 1 }
        return c
    }

    /// Deterministic pseudo-random values in about [lo, hi] (a fixed linear congruential walk,
    /// so failures reproduce).
    static func tensor(_ dims: [Int], seed: UInt64, lo: Float = -1, hi: Float = 1) throws -> Tensor {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let values: [Float] = (0..<dims.reduce(1, *)).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return lo + (hi - lo) * Float(state >> 40) / Float(1 << 24)
        }
        return try Tensor(dims: dims, scalars: values)
    }

    static func i64(_ values: [Int]) throws -> Tensor { try Tensor(dims: [values.count], scalars: values.map(Int64.init)) }

    /// Runs `rewrite` once on a copy of `model`; returns the result and the count it reported.
    static func apply(_ rewrite: some GraphRewrite, to model: Model) throws -> (Model, Int) {
        var m = model
        let n = try rewrite.apply(to: &m)
        try m.graph.validate()
        return (m, n)
    }

    /// Every graph output of `before` and `after`, run by the reference interpreter on the
    /// same inputs, agrees within a folding-sized tolerance.
    static func expectSameOutputs(_ before: Model, _ after: Model, _ inputs: [String: Tensor],
                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try ReferenceExecutor(model: before).run(inputs)
        let actual = try ReferenceExecutor(model: after).run(inputs)
        #expect(Set(actual.keys) == Set(expected.keys), sourceLocation: sourceLocation)
        for (name, e) in expected {
            let a = try #require(actual[name], sourceLocation: sourceLocation)
            #expect(a.dims == e.dims, "\(name)", sourceLocation: sourceLocation)
            let x = try a.converted(to: .f32).scalars(as: Float.self), y = try e.converted(to: .f32).scalars(as: Float.self)
            let bad = zip(x, y).filter { !(abs($0 - $1) <= 1e-5 + 1e-5 * abs($1)) }.count
            #expect(bad == 0, "\(name): \(bad) of \(x.count) values differ", sourceLocation: sourceLocation)
        }
    }
}
