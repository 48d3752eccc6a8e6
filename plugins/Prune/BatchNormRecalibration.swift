import SegGraph
import SegRuntime
import SegTechnique
import SegTensor

/// Re-estimates every BatchNormalization's running mean and variance from calibration images
/// (forward only), as `model.train(); with no_grad: forward(...)` would after pruning.
///
/// Statistics are per channel over images × H × W of each BN's input. All BNs are measured in
/// one pass, so a BN sees inputs normalized by its predecessors' old statistics; a second pass
/// with the updated model brings those in line (the sequential estimate, at 2 passes' cost).
struct BatchNormRecalibration: Sendable {
    static let passes = 2
    var images: Int
    var threads: Int?

    func run(_ source: Model, samples: SampleSource, context: TechniqueContext) async throws -> Model {
        var model = source
        let bns = model.graph.nodes.indices.filter { model.graph.nodes[$0].opType == "BatchNormalization" && model.graph.nodes[$0].inputs.count == 5 }
        guard !bns.isEmpty, images > 0 else { return model }
        let first = try await samples.sample(0)
        let shapes = first.mapValues(\.dims)
        let observed = Array(Set(bns.map { model.graph.nodes[$0].inputs[0] })).sorted()
        for pass in 0..<Self.passes {
            var probe = model
            let outputs = Set(probe.graph.outputs.map(\.name))
            probe.graph.outputs += observed.filter { !outputs.contains($0) }.map { ValueInfo(name: $0) }
            let compiled = try Compiler(threads: threads).compile(probe, inputShapes: shapes)
            var sum: [String: [Double]] = [:], squares: [String: [Double]] = [:], counts: [String: Int] = [:]
            for i in 0..<images {
                try context.checkCancellation()
                context.progress(0.85 + 0.05 * (Double(pass) + Double(i) / Double(images)) / Double(Self.passes),
                                 "BatchNorm statistics, pass \(pass + 1), image \(i + 1)/\(images)")
                let values = try compiled.run(i == 0 ? first : try await samples.sample(i))
                for name in observed {
                    guard let t = values[name], t.dims.count >= 2 else {
                        throw TechniqueError.failed("BN recalibration: the runtime did not return '\(name)'")
                    }
                    let n = t.dims[0], c = t.dims[1], inner = t.dims.dropFirst(2).reduce(1, *)
                    var s = sum[name] ?? [Double](repeating: 0, count: c), q = squares[name] ?? [Double](repeating: 0, count: c)
                    try t.withUnsafeBufferPointer(as: Float.self) { p in
                        for b in 0..<n {
                            for ch in 0..<c {
                                var a = 0.0, a2 = 0.0
                                let base = (b * c + ch) * inner
                                for k in 0..<inner { let v = Double(p[base + k]); a += v; a2 += v * v }
                                s[ch] += a
                                q[ch] += a2
                            }
                        }
                    }
                    sum[name] = s
                    squares[name] = q
                    counts[name, default: 0] += n * inner
                }
            }
            var g = model.graph
            var used = Set(g.initializers.names)
            for i in bns {
                let x = g.nodes[i].inputs[0]
                guard let s = sum[x], let q = squares[x], let n = counts[x], n > 0 else { continue }
                let mean = s.map { $0 / Double(n) }
                let variance = zip(q, mean).map { max($0 / Double(n) - $1 * $1, 0) }
                for (slot, values) in [(3, mean), (4, variance)] {
                    // Fresh names: a statistics tensor may be shared with another BN (or be the old one's only copy).
                    var name = g.nodes[i].name + (slot == 3 ? "_running_mean" : "_running_var"), k = 1
                    while used.contains(name) && g.nodes.enumerated().contains(where: { $0.offset != i && $0.element.inputs.contains(name) }) {
                        k += 1
                        name = g.nodes[i].name + (slot == 3 ? "_running_mean\(k)" : "_running_var\(k)")
                    }
                    used.insert(name)
                    g.initializers[name] = try Tensor(dims: [values.count], scalars: values.map { Float($0) })
                    g.nodes[i].inputs[slot] = name
                }
            }
            model.graph = g
        }
        return model
    }
}
