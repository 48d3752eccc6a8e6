/// Pointwise functions of one tensor, vectorised.
package enum UnaryOperation: Sendable, Equatable {
    /// y = x (stages only)
    case identity
    /// y = erf(x): x·P(x²)/Q(x²) on x clamped to [−4, 4] (|error| < 2e-7; outside, erf is
    /// ±1 in Float).
    case erf
    /// y = √x
    case sqrt
    /// y = x/2 · (1 + erf(x/√2))  (ONNX Gelu, approximate = "none")
    case gelu
    /// y = x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³)))  (ONNX Gelu, approximate = "tanh")
    case geluTanh

    @inline(__always)
    func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        switch self {
        case .identity: return x
        case .erf: return vectorErf(x)
        case .sqrt: return x.squareRoot()
        case .gelu: return 0.5 * x * (1 + vectorErf(x * 0.707_106_78))
        case .geluTanh:
            let u = 0.797_884_56 * (x + 0.044_715 * x * x * x)
            return 0.5 * x * (2 - 2 / (1 + fastExp(2 * u)))
        }
    }
}

/// One elementwise operation applied after a unary one, on the same elements: v ∘ operand
/// (or operand ∘ v with `operandFirst`), the operand a scalar or a tensor of the output's
/// size. Chains like Erf → Add 1 → Mul x → Mul 0.5 (exported GELU) become one pass.
package struct PointwiseStage: @unchecked Sendable {
    package var operation: ArithmeticOperation
    package var scalar: Float
    package var tensor: UnsafePointer<Float>?
    package var operandFirst: Bool

    package init(_ operation: ArithmeticOperation, scalar: Float = 0, tensor: UnsafePointer<Float>? = nil, operandFirst: Bool = false) {
        self.operation = operation
        self.scalar = scalar
        self.tensor = tensor
        self.operandFirst = operandFirst
    }
}

/// y = stages(op(inputScale · x)) over `count` floats; `y` may be `x`. Works in blocks that
/// stay in L1: the unary op writes a block, then each stage passes over it. Split over the pool.
package func pointwise(_ operation: UnaryOperation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                      inputScale: Float = 1, stages: [PointwiseStage] = [], context: KernelContext = .shared) {
    let scale = SIMD8<Float>(repeating: inputScale)
    let block = 2048
    let blocks = (max(count, 0) + block - 1) / block
    context.pool.parallelFor(blocks) { range in
        for blockIndex in range {
            let start = blockIndex * block, n = min(count, start + block) - start
            let src = x + start, dst = y + start
            var i = 0
            switch operation {
            // x · 1 is x exactly, so the scale needs no separate unscaled path.
            case .identity:
                if inputScale != 1 {
                    while i + 8 <= n { store8(load8(src + i) * scale, dst + i); i += 8 }
                } else {
                    if UnsafePointer(dst) != src { dst.update(from: src, count: n) }
                    i = n
                }
            case .erf: while i + 8 <= n { store8(vectorErf(load8(src + i) * scale), dst + i); i += 8 }
            case .sqrt: while i + 8 <= n { store8((load8(src + i) * scale).squareRoot(), dst + i); i += 8 }
            case .gelu, .geluTanh: while i + 8 <= n { store8(operation.apply(load8(src + i) * scale), dst + i); i += 8 }
            }
            if i < n {
                var v = SIMD8<Float>()
                for l in 0..<(n - i) { v[l] = src[i + l] }
                let r = operation.apply(v * scale)
                for l in 0..<(n - i) { dst[i + l] = r[l] }
            }
            for stage in stages {
                if let t = stage.tensor {
                    applyStage(stage, dst, t + start, 1, n)
                } else {
                    withUnsafePointer(to: stage.scalar) { applyStage(stage, dst, $0, 0, n) }
                }
            }
        }
    }
}

@inline(__always)
private func applyStage(_ stage: PointwiseStage, _ v: UnsafeMutablePointer<Float>, _ operand: UnsafePointer<Float>, _ stride: Int, _ n: Int) {
    let (a, sa, b, sb) = stage.operandFirst ? (operand, stride, UnsafePointer(v), 1) : (UnsafePointer(v), 1, operand, stride)
    switch stage.operation {
    case .add: arithmeticRow(AddKernel.self, a, sa, b, sb, v, n)
    case .sub: arithmeticRow(SubKernel.self, a, sa, b, sb, v, n)
    case .mul: arithmeticRow(MulKernel.self, a, sa, b, sb, v, n)
    case .div: arithmeticRow(DivKernel.self, a, sa, b, sb, v, n)
    case .pow: arithmeticRow(PowKernel.self, a, sa, b, sb, v, n)
    }
}

/// erf for eight lanes (the rational approximation Eigen and XLA use for float).
@inline(__always)
func vectorErf(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let x = clamp(input, -4, 4)
    let x2 = x * x
    var p = SIMD8<Float>(repeating: -2.726_142_3e-10)
    p = SIMD8(repeating: 2.770_681_4e-08).addingProduct(p, x2)
    p = SIMD8(repeating: -2.101_024e-06).addingProduct(p, x2)
    p = SIMD8(repeating: -5.692_506_4e-05).addingProduct(p, x2)
    p = SIMD8(repeating: -7.349_906_3e-04).addingProduct(p, x2)
    p = SIMD8(repeating: -2.954_600_0e-03).addingProduct(p, x2)
    p = SIMD8(repeating: -1.609_603_3e-02).addingProduct(p, x2)
    var q = SIMD8<Float>(repeating: -1.456_607_2e-05)
    q = SIMD8(repeating: -2.133_740_6e-04).addingProduct(q, x2)
    q = SIMD8(repeating: -1.682_827e-03).addingProduct(q, x2)
    q = SIMD8(repeating: -7.373_329_2e-03).addingProduct(q, x2)
    q = SIMD8(repeating: -1.426_473_9e-02).addingProduct(q, x2)
    // NaN passes through clamp's selects unchanged and stays NaN.
    return x * p / q
}
