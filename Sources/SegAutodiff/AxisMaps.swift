/// A gather whose source index factors per axis: output coordinate o on axis d reads input
/// coordinate maps[d][o], or nothing (−1: the fill value). Pad (constant, reflect, edge,
/// negative pads) and Slice (any steps) are both this; the backward is the matching
/// scatter-add, which sums gradients where reflect or edge read one input twice.
struct AxisMaps: Sendable {
    let inputDims: [Int], outputDims: [Int]
    let maps: [[Int]]
    /// The last axis's map as runs of consecutive input positions: (output start, input
    /// start, length). A slice with step 1, or a pad's middle, is one run copied as a block.
    let segments: [(output: Int, input: Int, count: Int)]

    init(inputDims: [Int], maps: [[Int]]) {
        self.inputDims = inputDims
        self.maps = maps
        outputDims = maps.map(\.count)
        var segments: [(output: Int, input: Int, count: Int)] = []
        for (j, i) in (maps.last ?? [0]).enumerated() where i >= 0 {
            if let last = segments.last, last.output + last.count == j, last.input + last.count == i {
                segments[segments.count - 1].count += 1
            } else {
                segments.append((j, i, 1))
            }
        }
        self.segments = segments
    }

    /// Calls `body(outputRowStart, inputRowStart or nil)` for each output row along the last
    /// axis (a rank-0 tensor is one row of one).
    private func forEachRow(_ body: (Int, Int?) -> Void) {
        let rank = inputDims.count
        guard rank > 0 else { body(0, 0); return }
        let rows = outputDims.dropLast().reduce(1, *)
        let rowLength = outputDims[rank - 1]
        guard rows > 0, rowLength > 0 else { return }
        var strides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * inputDims[d + 1] }
        var index = [Int](repeating: 0, count: rank)
        for row in 0..<rows {
            var offset = 0, inside = true
            for d in 0..<(rank - 1) {
                let i = maps[d][index[d]]
                if i < 0 { inside = false; break }
                offset += i * strides[d]
            }
            body(row * rowLength, inside ? offset : nil)
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                if index[d] < outputDims[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    func gather(_ x: [Float], fill: Float) -> [Float] {
        var y = [Float](repeating: fill, count: outputDims.reduce(1, *))
        let segments = segments
        y.withUnsafeMutableBufferPointer { yp in
            x.withUnsafeBufferPointer { xp in
                let dst = yp.baseAddress, src = xp.baseAddress
                forEachRow { o, start in
                    guard let start, let dst, let src else { return }
                    for s in segments { (dst + o + s.output).update(from: src + start + s.input, count: s.count) }
                }
            }
        }
        return y
    }

    func scatterAdd(_ dy: [Float]) -> [Float] {
        var dx = [Float](repeating: 0, count: inputDims.reduce(1, *))
        let segments = segments
        dx.withUnsafeMutableBufferPointer { dp in
            dy.withUnsafeBufferPointer { gp in
                let dst = dp.baseAddress, src = gp.baseAddress
                forEachRow { o, start in
                    guard let start, let dst, let src else { return }
                    for s in segments {
                        let d = dst + start + s.input, g = src + o + s.output
                        for k in 0..<s.count { d[k] += g[k] }
                    }
                }
            }
        }
        return dx
    }
}

/// A step that is an `AxisMaps` gather of input 0 (Pad, Slice).
final class AxisMapStep: DifferentiableStep {
    let label: String
    let map: AxisMaps
    let fill: Float

    init(label: String, map: AxisMaps, fill: Float) {
        self.label = label
        self.map = map
        self.fill = fill
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        return [FloatTensor(dims: map.outputDims, scalars: map.gather(x.scalars, fill: fill))]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        if wanted[0], let dy = outputGradients[0] { grads[0] = FloatTensor(dims: map.inputDims, scalars: map.scatterAdd(dy.scalars)) }
        return grads
    }

    func release() {}
}
