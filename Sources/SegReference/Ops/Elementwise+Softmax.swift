import Foundation
import SegGraph
import SegTensor

// Softmax and LogSoftmax. Before opset 13 the input is viewed as 2-D, [d0·…·d(axis−1),
// d(axis)·…·d(n−1)], and normalized over each row (default axis 1); from 13 on it is
// normalized along the one axis (default −1). Computed in Double with the row max subtracted.

extension ElementwiseOperators {
    static let softmax: [OperatorDefinition] = [
        softmaxDefinition("Softmax", log: false, versions: 1...12),
        softmaxDefinition("Softmax", log: false, versions: 13...Int.max),
        softmaxDefinition("LogSoftmax", log: true, versions: 1...12),
        softmaxDefinition("LogSoftmax", log: true, versions: 13...Int.max),
    ]

    static func softmaxDefinition(_ op: String, log: Bool, versions: ClosedRange<Int>) -> OperatorDefinition {
        let flattens = versions.upperBound < 13
        return OperatorDefinition(op, versions: versions, attributes: ["axis"], infer: sameAsInput(0)) { ctx, inputs in
            let x = try required(inputs, 0)
            let dims = x.dims.isEmpty ? [1] : x.dims
            let axis = try ctx.axis(try ctx.int("axis", default: flattens ? 1 : -1), rank: dims.count)
            let outer = dims[..<axis].reduce(1, *)
            // Flattening: one row of everything from `axis` on; otherwise the axis alone.
            let inner = flattens ? 1 : dims[(axis + 1)...].reduce(1, *)
            let n = flattens ? dims[axis...].reduce(1, *) : dims[axis]
            var v = try doubles(x, input: 0, op: op)
            for o in 0..<outer {
                for j in 0..<inner {
                    let base = o * n * inner + j
                    var peak = -Double.infinity
                    for k in 0..<n { peak = Swift.max(peak, v[base + k * inner]) }
                    var sum = 0.0
                    for k in 0..<n { sum += exp(v[base + k * inner] - peak) }
                    for k in 0..<n {
                        let shifted = v[base + k * inner] - peak
                        v[base + k * inner] = log ? shifted - Foundation.log(sum) : exp(shifted) / sum
                    }
                }
            }
            return [try rounded(v, shape: x.shape, to: x.dtype)]
        }
    }
}
