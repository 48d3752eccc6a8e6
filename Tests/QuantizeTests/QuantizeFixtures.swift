@testable import Quantize
import SegGraph
import SegProtocol
import SegReference
import SegTechnique
import SegTensor

/// A small conv net with the patterns the planner treats differently: Conv → Relu (absorbed),
/// depthwise Conv → HardSwish, residual Add, squeeze-excite (GlobalAveragePool → Conv →
/// HardSigmoid → Mul), Resize (shares its input's range), and an op with no INT8 kernel (Softmax).
enum QuantizeFixtures {
    static func random(_ dims: [Int], _ rng: inout SeededGenerator, scale: Float = 0.5) -> Tensor {
        let n = dims.reduce(1, *)
        let v = (0..<n).map { _ in (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
        return (try? Tensor(dims: dims, scalars: v)) ?? Tensor(scalar: Float(0))
    }

    static func net(softmax: Bool = true) -> Model {
        var rng = SeededGenerator(seed: 5)
        var g = Graph(name: "qnet")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(3), .value(8), .value(8)]))]
        func conv(_ name: String, _ x: String, _ cin: Int, _ cout: Int, k: Int, group: Int = 1, out: String) -> Node {
            g.initializers[name + ".w"] = random([cout, cin / group, k, k], &rng)
            g.initializers[name + ".b"] = random([cout], &rng, scale: 0.2)
            return Node(name: name, opType: "Conv", inputs: [x, name + ".w", name + ".b"], outputs: [out],
                        attributes: [NamedAttribute("group", .int(group)), NamedAttribute("kernel_shape", .ints([k, k])),
                                     NamedAttribute("pads", .ints([k / 2, k / 2, k / 2, k / 2]))])
        }
        g.initializers["scales"] = try? Tensor(dims: [4], scalars: [Float(1), 1, 2, 2])
        var nodes: [Node] = [
            conv("c1", "x", 3, 8, k: 3, out: "c1"),
            Node(name: "r1", opType: "Relu", inputs: ["c1"], outputs: ["r1"]),
            conv("dw", "r1", 8, 8, k: 3, group: 8, out: "dw"),
            Node(name: "hs", opType: "HardSwish", inputs: ["dw"], outputs: ["hs"]),
            conv("pw", "hs", 8, 8, k: 1, out: "pw"),
            Node(name: "add", opType: "Add", inputs: ["pw", "r1"], outputs: ["add"]),
            Node(name: "gap", opType: "GlobalAveragePool", inputs: ["add"], outputs: ["gap"]),
            conv("se", "gap", 8, 8, k: 1, out: "se"),
            Node(name: "hsig", opType: "HardSigmoid", inputs: ["se"], outputs: ["hsig"]),
            Node(name: "mul", opType: "Mul", inputs: ["add", "hsig"], outputs: ["mul"]),
            conv("head", "mul", 8, 4, k: 1, out: "head"),
            Node(name: "up", opType: "Resize", inputs: ["head", "", "scales"], outputs: [softmax ? "up" : "y"],
                 attributes: [NamedAttribute("mode", .string("linear"))]),
        ]
        if softmax { nodes.append(Node(name: "sm", opType: "Softmax", inputs: ["up"], outputs: ["y"], attributes: [NamedAttribute("axis", .int(1))])) }
        g.nodes = nodes
        g.outputs = [ValueInfo(name: "y", type: TensorType(elementType: .f32, shape: [.value(1), .value(4), .value(16), .value(16)]))]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
    }

    static func inputs(_ count: Int, seed: UInt64 = 9) -> [[String: Tensor]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in ["x": random([1, 3, 8, 8], &rng, scale: 2)] }
    }

    static func samples(_ count: Int) -> SampleSource {
        let all = inputs(count)
        return SampleSource(count: count, origin: "\(count) random inputs") { all[$0] }
    }

    /// Scores a model by how close its output is to the FP32 net's on fixed inputs
    /// (1 − relative squared error), standing in for mIoU.
    static func probe(reference: Model) throws -> AccuracyProbe {
        let inputs = Self.inputs(3, seed: 21)
        let expected = try inputs.map { try ReferenceExecutor(model: reference).run($0)["y"] }
        return AccuracyProbe(split: "fixture", count: 3) { model, _ in
            let exec = try ReferenceExecutor(model: model)
            var signal = 0.0, noise = 0.0
            for (i, x) in inputs.enumerated() {
                // A missing output must not score as a perfect match.
                guard let e = try expected[i]?.scalars(as: Float.self), let y = try exec.run(x)["y"]?.scalars(as: Float.self) else {
                    throw ExecutionError.unknownOutput("y", known: [])
                }
                for k in e.indices { signal += Double(e[k] * e[k]); noise += Double((e[k] - y[k]) * (e[k] - y[k])) }
            }
            let score = 1 - noise / max(signal, 1e-12)
            return AccuracyScore(miou: score, pixelAccuracy: score, classIoU: [score], images: inputs.count)
        }
    }

    static func ops(_ m: Model) -> [String: Int] { m.graph.opCounts }
}
