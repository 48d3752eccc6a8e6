import SegGraph
import SegTensor

extension NeuralNetworkOperators {
    /// GlobalAveragePool (1, 22): mean over all spatial axes; output [N, C, 1, ...].
    static let globalAveragePool = OperatorDefinition("GlobalAveragePool", infer: globalPoolInfer) { _, inputs in
        [try globalPool(try required(inputs, 0), "GlobalAveragePool") { (values: [Double]) in values.reduce(0, +) / Double(values.count) }]
    }

    /// GlobalMaxPool (1, 22): maximum over all spatial axes (NaN ignored, as ORT's `>` does).
    static let globalMaxPool = OperatorDefinition("GlobalMaxPool", infer: globalPoolInfer) { _, inputs in
        [try globalPool(try required(inputs, 0), "GlobalMaxPool") { (values: [Double]) in
            values.dropFirst().reduce(values.first ?? .nan) { $1 > $0 || $0.isNaN ? $1 : $0 }
        }]
    }

    /// GlobalLpPool (2, 22): `(Σ |x|^p)^(1/p)` over all spatial axes.
    static let globalLpPool = OperatorDefinition("GlobalLpPool", attributes: ["p"], infer: globalPoolInfer) { ctx, inputs in
        let p = Double(try ctx.float("p", default: 2))
        return [try globalPool(try required(inputs, 0), "GlobalLpPool") { (values: [Double]) in
            Double.nnPow(values.reduce(0) { $0 + Double.nnPow(abs($1), p) }, 1 / p)
        }]
    }

    static let globalPoolInfer: OperatorDefinition.Infer = { _, inputs in
        guard let x = inputs.first??.type else { return [nil] }
        guard let shape = x.shape, shape.count >= 2 else { return [TensorType(elementType: x.elementType, shape: nil)] }
        return [TensorType(elementType: x.elementType, shape: Array(shape[..<2]) + [Dimension](repeating: .value(1), count: shape.count - 2))]
    }

    /// Reduces each N·C plane with `reduce`. f32 accumulates in f64 here and rounds once: the
    /// sums are over whole planes, where f32 accumulation order would dominate the error.
    static func globalPool(_ x: Tensor, _ op: String, _ reduce: ([Double]) -> Double) throws -> Tensor {
        guard NN.isFloat(x.dtype) else { throw OpError.input(0, "\(op) takes f16, f32 or f64, got \(x.dtype)") }
        guard x.dims.count >= 2 else { throw OpError.input(0, "expected rank 2 or more (N, C, ...), got \(x.shape)") }
        let planes = x.dims[0] * x.dims[1], inner = x.dims.dropFirst(2).reduce(1, *)
        let values: [Double] = try NN.floats(x, input: 0)
        let out = (0..<planes).map { reduce(Array(values[($0 * inner)..<(($0 + 1) * inner)])) }
        return try NN.tensor(out, dims: Array(x.dims[..<2]) + [Int](repeating: 1, count: x.dims.count - 2), dtype: x.dtype)
    }
}
