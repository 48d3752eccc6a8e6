import SegAutodiff
import SegGraph
import SegTensor
import Testing

/// Central finite differences against the engine's backward pass. Every value a test
/// differentiates is an initializer listed as trainable (inputs included), so the program's
/// parameter gradients cover them all. The loss is Σ output · R for a fixed random R, whose
/// gradient with respect to the output is R itself.
enum GradientCheck {
    static func values(_ count: Int, seed: UInt64, range: ClosedRange<Float> = -1...1) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float.random(in: range, using: &rng) }
    }

    static func model(_ nodes: [Node], initializers: [String: Tensor], output: String, opset: Int = 17) -> Model {
        var g = Graph(name: "gradcheck")
        for (k, v) in initializers.sorted(by: { $0.key < $1.key }) { g.initializers[k] = v }
        g.nodes = nodes
        g.outputs = [ValueInfo(name: output)]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: opset)])
    }

    /// Checks d(Σ y·R)/dθ for every trainable θ at up to `samples` elements each.
    /// Tolerance: |numeric − analytic| ≤ atol + rtol·max(|numeric|, |analytic|).
    static func check(_ nodes: [Node], trainable: [String: [Float]], dims: [String: [Int]],
                      constants: [String: Tensor] = [:], state: [String] = [], output: String = "y",
                      epsilon: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2, samples: Int = 24,
                      options: TrainingOptions = TrainingOptions(), opset: Int = 17,
                      fdScale: [String: Float] = [:],
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        var initializers = constants
        for (name, v) in trainable { initializers[name] = try Tensor(dims: dims[name]!, scalars: v) }
        let m = model(nodes, initializers: initializers, output: output, opset: opset)
        let names = trainable.keys.sorted()
        let program = try TrainingProgram(model: m, inputShapes: [:], trainable: names, state: state, options: options)
        var parameters: [String: FloatTensor] = [:]
        for name in names { parameters[name] = FloatTensor(dims: dims[name]!, scalars: trainable[name]!) }
        for name in state { parameters[name] = try FloatTensor(constants[name]!, name: name) }

        let y = try #require(program.forward(inputs: [:], parameters: parameters).outputs[output], sourceLocation: sourceLocation)
        let r = values(y.count, seed: 99)
        let grads = try program.backward(outputGradients: [output: FloatTensor(dims: y.dims, scalars: r)])

        func loss(_ p: [String: FloatTensor]) throws -> Double {
            let out = try program.forward(inputs: [:], parameters: p).outputs[output]!
            program.releaseAll()
            return zip(out.scalars, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        for name in names {
            let g = try #require(grads[name], "no gradient for \(name)", sourceLocation: sourceLocation)
            #expect(g.dims == dims[name]!, "gradient dims of \(name)", sourceLocation: sourceLocation)
            let count = g.count
            let step = max(1, count / samples)
            var bad: [String] = []
            for i in Swift.stride(from: 0, to: count, by: step) {
                var plus = parameters, minus = parameters
                plus[name]!.scalars[i] += epsilon
                minus[name]!.scalars[i] -= epsilon
                // fdScale: a gradient the rule scales on purpose (LSQ's step-size factor).
                let numeric = Float((try loss(plus) - loss(minus)) / Double(2 * epsilon)) * (fdScale[name] ?? 1)
                let analytic = g.scalars[i]
                if !(abs(numeric - analytic) <= atol + rtol * max(abs(numeric), abs(analytic))) {
                    bad.append("\(name)[\(i)]: numeric \(numeric), analytic \(analytic)")
                }
            }
            #expect(bad.isEmpty, "\(bad.prefix(6))", sourceLocation: sourceLocation)
        }
    }
}
