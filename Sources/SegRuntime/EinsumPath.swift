import SegGraph
import SegKernels

/// Einsum equations that are a batched matrix product, run as one: operands
/// `batch·M·K` and `batch·K·N`, output `batch·M·N`, each group a run of consecutive axes
/// (Mask2Former's mask head `bqc,bchw->bqhw` is [b, q, c] × [b, c, h·w]). The axes of a group
/// are contiguous in row-major storage, so no data moves. Anything else (diagonals, sums,
/// transposes, ellipses, broadcast batch axes) runs on the reference.
enum EinsumPath {
    static func select(_ i: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count == 2, node.outputs.count == 1, let out = node.outputs.first, let od = b.dims(out),
              let equation = node[attribute: "equation"]?.stringValue else { return nil }
        let (aName, bName) = (node.inputs[0], node.inputs[1])
        guard let (aSource, ad) = TensorOpsPath.source(aName, b), let (bSource, bd) = TensorOpsPath.source(bName, b),
              b.isPlanned(aName) || b.isPlanned(bName),
              let groups = matrixProduct(equation, a: ad, b: bd), groups.output == od,
              let shape = try? MatMulShape(a: [groups.batch, groups.m, groups.k], b: [groups.batch, groups.k, groups.n]) else { return nil }
        let reads = [aName, bName].filter(b.isPlanned)
        return .init(reads: reads, writes: [out], kind: "Einsum (MatMul)") { slot in
            MatMulStep(shape: shape, a: TensorOpsPath.resolve(aSource, aName, slot), b: TensorOpsPath.resolve(bSource, bName, slot),
                       packedB: nil, output: slot(out), alpha: 1, bias: nil, residual: nil, activation: .none, context: b.context,
                       kind: "Einsum (MatMul)")
        }
    }

    /// Sizes of the batch, M, K and N groups and the output dims, when `equation` on operands
    /// of dims `a` and `b` is `batch·M·K, batch·K·N -> batch·M·N`; nil otherwise.
    static func matrixProduct(_ equation: String, a: [Int], b: [Int]) -> (batch: Int, m: Int, k: Int, n: Int, output: [Int])? {
        let text = equation.filter { !$0.isWhitespace }
        let sides = text.components(separatedBy: "->")
        guard sides.count == 2, !text.contains("."), text.allSatisfy({ $0.isLetter || $0 == "," || $0 == "-" || $0 == ">" }) else { return nil }
        let operands = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(Array.init)
        guard operands.count == 2 else { return nil }
        let (x, y, o) = (operands[0], operands[1], Array(sides[1]))
        guard x.count == a.count, y.count == b.count, Set(x).count == x.count, Set(y).count == y.count, Set(o).count == o.count else { return nil }
        let batch = x.filter { y.contains($0) && o.contains($0) }
        let k = x.filter { y.contains($0) && !o.contains($0) }
        let m = x.filter { !y.contains($0) }
        let n = y.filter { !x.contains($0) }
        guard x == batch + m + k, y == batch + k + n, o == batch + m + n, !k.isEmpty else { return nil }
        var size: [Character: Int] = [:]
        for (l, d) in zip(x, a) { size[l] = d }
        for (l, d) in zip(y, b) {
            guard size[l] == nil || size[l] == d else { return nil }  // a broadcast batch or K axis
            size[l] = d
        }
        func product(_ letters: [Character]) -> Int { letters.reduce(1) { $0 * (size[$1] ?? 1) } }
        return (product(batch), product(m), product(k), product(n), o.map { size[$0] ?? 0 })
    }
}
