@testable import Prune
import SegGraph
import SegReference
import SegTensor
import Testing

/// Builds small NCHW graphs with seeded random weights, one coupling pattern at a time.
struct Builder {
    var nodes: [Node] = []
    var initializers = Initializers()
    var rng = SeededGenerator(seed: 11)
    var counter = 0

    mutating func random(_ dims: [Int], scale: Float = 0.5) -> Tensor {
        let n = dims.reduce(1, *)
        let values = (0..<n).map { _ in (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
        return (try? Tensor(dims: dims, scalars: values)) ?? Tensor(scalar: Float(0))
    }

    mutating func constant(_ name: String, _ t: Tensor) -> String {
        initializers[name] = t
        return name
    }

    @discardableResult
    mutating func op(_ type: String, _ inputs: [String], name: String? = nil, outputs: Int = 1, _ attributes: [NamedAttribute] = []) -> [String] {
        counter += 1
        let n = name ?? "\(type.lowercased())\(counter)"
        let outs = outputs == 1 ? [n + "_out"] : (0..<outputs).map { "\(n)_out\($0)" }
        nodes.append(Node(name: n, opType: type, inputs: inputs, outputs: outs, attributes: attributes))
        return outs
    }

    mutating func conv(_ name: String, _ x: String, _ cin: Int, _ cout: Int, k: Int = 1, group: Int = 1) -> String {
        let w = constant(name + ".w", random([cout, cin / group, k, k]))
        let b = constant(name + ".b", random([cout], scale: 0.2))
        return op("Conv", [x, w, b], name: name, [NamedAttribute("group", .int(group)), NamedAttribute("pads", .ints(Array(repeating: k / 2, count: 4))),
                                                  NamedAttribute("kernel_shape", .ints([k, k]))])[0]
    }

    mutating func bn(_ name: String, _ x: String, _ c: Int) -> String {
        var gamma = random([c])
        gamma = (try? Tensor(dims: [c], scalars: ((try? gamma.scalars(as: Float.self)) ?? []).map { abs($0) + 0.1 })) ?? gamma
        let inputs = [constant(name + ".g", gamma), constant(name + ".b", random([c], scale: 0.1)),
                      constant(name + ".m", random([c], scale: 0.1)),
                      constant(name + ".v", (try? Tensor(dims: [c], scalars: [Float](repeating: 0.8, count: c))) ?? gamma)]
        return op("BatchNormalization", [x] + inputs, name: name)[0]
    }

    func model(input dims: [Int] = [1, 4, 6, 6], output: String) -> Model {
        func info(_ name: String, _ d: [Int]?) -> ValueInfo {
            ValueInfo(name: name, type: TensorType(elementType: .f32, shape: d.map { $0.map { .value($0) } }))
        }
        return Model(graph: Graph(name: "fixture", nodes: nodes, inputs: [info("x", dims)], outputs: [info(output, nil)],
                                  initializers: initializers))
    }
}

/// Prunes every group at `ratio` (roundTo 1) and returns the pruned model, the kept channels
/// and the analysed graph.
func prune(_ model: Model, ratio: Double = 0.5, criterion: Criterion = .l1) throws -> (Model, [String: [Int]], ChannelGraph) {
    let graph = try ChannelGraph(model: model)
    let (scores, _) = try graph.importance(criterion, seed: 0)
    let ratios = Dictionary(uniqueKeysWithValues: graph.groups.map { ($0.name, ratio) })
    let kept = graph.kept(graph.plan(ratios: ratios, scores: scores, roundTo: 1))
    return (try graph.rewrite(kept: kept), kept, graph)
}

/// The original network with every pruned channel's activation multiplied by zero right
/// where it is produced: what the pruned network must compute.
func masked(_ model: Model, kept: [String: [Int]], channels: [String: Int]) throws -> Model {
    var m = model
    var g = m.graph
    for (value, keep) in kept.sorted(by: { $0.key < $1.key }) {
        guard let c = channels[value] else { continue }
        let mask = (0..<c).map { keep.contains($0) ? Float(1) : 0 }
        g.initializers[value + "__mask"] = try Tensor(dims: [1, c, 1, 1], scalars: mask)
        for i in g.nodes.indices { g.nodes[i].inputs = g.nodes[i].inputs.map { $0 == value ? value + "__masked" : $0 } }
        g.nodes.append(Node(name: value + "__masking", opType: "Mul", inputs: [value, value + "__mask"], outputs: [value + "__masked"]))
    }
    m.graph = g
    return m
}

func input(_ dims: [Int] = [1, 4, 6, 6], seed: UInt64 = 5) throws -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return try Tensor(dims: dims, scalars: (0..<dims.reduce(1, *)).map { _ in Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1 })
}

/// Runs both with the reference executor and compares every element (|a−b| ≤ atol + rtol·|b|).
func expectSameOutputs(_ a: Model, _ b: Model, input x: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
    let name = a.graph.outputs[0].name
    let ya = try #require(try ReferenceExecutor(model: a).run(["x": x])[name]).scalars(as: Float.self)
    let yb = try #require(try ReferenceExecutor(model: b).run(["x": x])[name]).scalars(as: Float.self)
    #expect(ya.count == yb.count, sourceLocation: sourceLocation)
    let worst = zip(ya, yb).map { abs($0 - $1) - rtol * abs($1) }.max() ?? 0
    #expect(worst <= atol, "largest excess error \(worst)", sourceLocation: sourceLocation)
}

func dims(_ m: Model, _ initializerOf: String, input slot: Int = 1) -> [Int]? {
    guard let node = m.graph.nodes.first(where: { $0.name == initializerOf }), slot < node.inputs.count else { return nil }
    return m.graph.initializers[node.inputs[slot]]?.dims
}
