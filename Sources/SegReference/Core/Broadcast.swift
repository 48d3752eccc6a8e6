import SegGraph
import SegTensor

/// NumPy-style multidirectional broadcasting (ONNX's "Broadcasting in ONNX").
package enum Broadcast {
    /// The broadcast shape of several shapes; dims must match or be 1.
    package static func shape(_ shapes: [[Int]]) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var out = [Int](repeating: 1, count: rank)
        for s in shapes {
            let offset = rank - s.count
            for (i, d) in s.enumerated() {
                let o = out[offset + i]
                if o == d || d == 1 { continue }
                if o == 1 { out[offset + i] = d; continue }
                throw OpError.input(0, "shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) cannot be broadcast together")
            }
        }
        return out
    }

    /// Strides to read a tensor of `shape` as if it had `target` shape (0 along broadcast axes).
    package static func strides(of shape: [Int], broadcastTo target: [Int]) -> [Int] {
        let offset = target.count - shape.count
        var strides = [Int](repeating: 0, count: target.count)
        var running = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[offset + i] = shape[i] == 1 ? 0 : running
            running *= shape[i]
        }
        return strides
    }

    /// For every element of `target` in C order, the flat index into a tensor of `shape`.
    /// Simple and allocation-heavy: fine for the reference executor.
    package static func indexMap(from shape: [Int], to target: [Int]) -> [Int] {
        let count = target.reduce(1, *)
        if shape == target { return Array(0..<count) }
        let strides = strides(of: shape, broadcastTo: target)
        var map = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: target.count)
        var flat = 0
        for i in 0..<count {
            map[i] = flat
            var axis = target.count - 1
            while axis >= 0 {
                index[axis] += 1
                flat += strides[axis]
                if index[axis] < target[axis] { break }
                flat -= strides[axis] * index[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return map
    }

    /// Broadcast of possibly symbolic shapes, for inference: nil when a rank is unknown.
    package static func symbolic(_ shapes: [[Dimension]?]) -> [Dimension]? {
        var known: [[Dimension]] = []
        for s in shapes {
            guard let s else { return nil }
            known.append(s)
        }
        let rank = known.map(\.count).max() ?? 0
        var out = [Dimension](repeating: .value(1), count: rank)
        for s in known {
            let offset = rank - s.count
            for (i, d) in s.enumerated() {
                switch (out[offset + i], d) {
                case (_, .value(1)): continue
                case (.value(1), _): out[offset + i] = d
                case (.value(let a), .value(let b)) where a == b: continue
                case (.param(let a), .param(let b)) where a == b: continue
                case (.value, .param), (.value, .unknown): continue  // the static dim wins
                case (.param, .value), (.unknown, .value): out[offset + i] = d
                default: out[offset + i] = .unknown
                }
            }
        }
        return out
    }
}
