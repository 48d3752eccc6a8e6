import SegGraph
import SegTechnique
import SegTensor

/// Re-estimates every BatchNormalization's running mean and variance from calibration images
/// (forward only), as `model.train(); with no_grad: forward(...)` would after pruning.
///
/// Statistics are per channel over images × H × W of each BN's input, measured with every BN
/// upstream of it already re-estimated: pruning can shift a deep layer's statistics several
/// fold, and a BN measured under its predecessors' old statistics then sees different inputs
/// at inference (errors compound through depth). Each pass measures the BNs whose upstream BNs
/// are all done, on a graph cut right after their inputs, so the passes cost about one forward
/// pass per BN depth level over half the network on average.
struct BatchNormRecalibration: Sendable {
    var images: Int

    func run(_ source: Model, samples: SampleSource, context: TechniqueContext) async throws -> (Model, passes: Int) {
        var model = source
        let bns = model.graph.nodes.indices.filter { model.graph.nodes[$0].opType == "BatchNormalization" && model.graph.nodes[$0].inputs.count == 5 }
        guard !bns.isEmpty, images > 0 else { return (model, 0) }
        var inputs: [[String: Tensor]] = []
        for i in 0..<images { inputs.append(try await samples.sample(i)) }
        let upstream = Self.upstreamBatchNorms(model.graph, bns)
        var done = Set<Int>()
        var passes = 0
        while done.count < bns.count {
            let frontier = bns.filter { !done.contains($0) && (upstream[$0] ?? []).isSubset(of: done) }
            guard !frontier.isEmpty else { throw TechniqueError.failed("BN recalibration: BatchNormalization nodes form a cycle") }
            passes += 1
            let observed = Array(Set(frontier.map { model.graph.nodes[$0].inputs[0] })).sorted()
            let compiled = try context.requireRunner(for: "BN recalibration").prepare(model.cut(at: observed))
            var sum: [String: [Double]] = [:], squares: [String: [Double]] = [:], counts: [String: Int] = [:]
            for (i, sample) in inputs.enumerated() {
                try context.checkCancellation()
                context.progress(0.85 + 0.05 * Double(done.count) / Double(bns.count),
                                 "BatchNorm statistics: \(done.count)/\(bns.count) done, image \(i + 1)/\(images)")
                let values = try compiled.run(sample)
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
            var replaced = Set<String>()
            for i in frontier {
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
                    replaced.insert(g.nodes[i].inputs[slot])
                    g.nodes[i].inputs[slot] = name
                }
            }
            // The statistics this pass replaced, unless something still reads them: left in the
            // file they cost bytes and make ONNX Runtime warn once per unused initializer.
            let read = Set(g.nodes.flatMap(\.inputs)).union(g.outputs.map(\.name)).union(g.inputs.map(\.name))
            for name in replaced where !read.contains(name) { g.initializers[name] = nil }
            model.graph = g
            done.formUnion(frontier)
        }
        return (model, passes)
    }

    /// For each BN node, the BN nodes its input depends on.
    static func upstreamBatchNorms(_ g: Graph, _ bns: [Int]) -> [Int: Set<Int>] {
        let producer = g.producers
        let isBN = Set(bns)
        var memo: [Int: Set<Int>] = [:]  // node → BNs at or above it
        func above(_ node: Int) -> Set<Int> {
            if let m = memo[node] { return m }
            var out = Set<Int>()
            var stack = [node], seen = Set<Int>()
            // Iterative walk: deep networks would overflow a recursive one.
            while let n = stack.popLast() {
                guard seen.insert(n).inserted else { continue }
                if isBN.contains(n) { out.insert(n) }
                for input in g.nodes[n].inputs { if let p = producer[input] { stack.append(p) } }
            }
            memo[node] = out
            return out
        }
        var result: [Int: Set<Int>] = [:]
        for b in bns {
            let x = g.nodes[b].inputs[0]
            result[b] = producer[x].map(above) ?? []
        }
        return result
    }
}
