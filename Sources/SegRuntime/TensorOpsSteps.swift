import SegKernels

/// Constant floats copied once into memory with a stable address, so a step can hand a
/// plain pointer to a kernel (bias vectors, constant operands).
final class ConstantFloats: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(values.count, 1))
        pointer.initialize(repeating: 0, count: max(values.count, 1))
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { pointer.update(from: base, count: values.count) } }
    }

    deinit { pointer.deallocate() }
}

/// A kernel operand: a value in the arena or a constant.
enum FloatSource: Sendable {
    case slot(Slot)
    case constant(ConstantFloats)

    func pointer(_ arena: Arena) -> UnsafePointer<Float> {
        switch self {
        case .slot(let s): return UnsafePointer(arena.pointer(s))
        case .constant(let c): return UnsafePointer(c.pointer)
        }
    }
}

/// MatMul (NumPy batching) with B pre-packed when constant, and a fused scale, bias,
/// residual and activation.
struct MatMulStep: Step {
    let shape: MatMulShape
    let a: FloatSource
    let b: FloatSource?
    let packedB: PackedMatrix?
    let output: Slot
    let alpha: Float
    let bias: ConstantFloats?
    let residual: Slot?
    let activation: Activation
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        try matmul(shape, alpha: alpha, a: a.pointer(arena), b: b?.pointer(arena), packedB: packedB, c: arena.pointer(output),
                   bias: bias.map { UnsafePointer($0.pointer) }, residual: residual.map { UnsafePointer(arena.pointer($0)) },
                   activation: activation, context: context)
    }
}

/// A constant-weight MatMul written transposed (MatMul [→ bias → act] → Transpose).
struct MatMulTransposedStep: Step {
    let batches: Int, m: Int
    let a: Slot
    let packedWeights: PackedMatrix
    let output: Slot
    let bias: ConstantFloats?
    let activation: Activation
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        try matmulTransposed(batches: batches, m: m, a: arena.pointer(a), packedWeights: packedWeights, c: arena.pointer(output),
                             bias: bias.map { UnsafePointer($0.pointer) }, activation: activation, context: context)
    }
}

/// softmax(scale · Q·Kᵀ) · V in row blocks (MatMul → Mul → Softmax → MatMul).
struct AttentionStep: Step {
    let scores: MatMulShape
    let context: MatMulShape
    let scale: Float
    let q: Slot, keys: Slot, values: Slot
    let output: Slot
    let kernelContext: KernelContext
    var kind: String { "Attention" }

    func execute(_ arena: Arena) throws {
        try attention(scores: scores, context: context, scale: scale, q: arena.pointer(q), keys: arena.pointer(keys),
                      v: arena.pointer(values), output: arena.pointer(output), context: kernelContext)
    }
}

/// Gemm: C = alpha · A' · B' + beta · C, C folded at compile time into a column bias or a
/// full constant residual (both already scaled by beta).
struct GemmStep: Step {
    let m: Int, n: Int, k: Int
    let a: FloatSource
    let transposeA: Bool
    let b: FloatSource?
    let transposeB: Bool
    let packedB: PackedMatrix?
    let alpha: Float
    let bias: ConstantFloats?
    let residual: FloatSource?
    let output: Slot
    let activation: Activation
    let context: KernelContext
    var kind: String { "Gemm" }

    func execute(_ arena: Arena) throws {
        let epilogue = Epilogue(bias: bias.map { .perColumn(UnsafePointer($0.pointer)) } ?? .none, activation: activation,
                                residual: residual?.pointer(arena), residualLeadingDimension: n)
        let ap = a.pointer(arena), c = arena.pointer(output)
        let lda = transposeA ? m : k
        if let packedB {
            try sgemm(m: m, alpha: alpha, a: ap, lda: max(lda, 1), transposeA: transposeA, packedB: packedB, c: c, ldc: n,
                      epilogue: epilogue, context: context)
        } else if let b {
            try sgemm(m: m, n: n, k: k, alpha: alpha, a: ap, lda: max(lda, 1), transposeA: transposeA,
                      b: b.pointer(arena), ldb: max(transposeB ? k : n, 1), transposeB: transposeB, c: c, ldc: n,
                      epilogue: epilogue, context: context)
        }
    }
}

/// Softmax over contiguous rows.
struct SoftmaxStep: Step {
    let input: Slot
    let output: Slot
    let length: Int
    let context: KernelContext
    var kind: String { "Softmax" }

    func execute(_ arena: Arena) throws {
        try softmax(arena.pointer(input), arena.pointer(output), rows: output.count / length, length: length, context: context)
    }
}

/// LayerNormalization over contiguous rows.
struct LayerNormStep: Step {
    let input: Slot
    let output: Slot
    let length: Int
    let scale: FloatSource?
    let bias: FloatSource?
    let epsilon: Float
    let context: KernelContext
    var kind: String { "LayerNormalization" }

    func execute(_ arena: Arena) throws {
        try layerNormalization(arena.pointer(input), arena.pointer(output), rows: output.count / length, length: length,
                               scale: scale?.pointer(arena), bias: bias?.pointer(arena), epsilon: epsilon, context: context)
    }
}

/// Transpose by a precomputed plan.
struct TransposeStep: Step {
    let plan: TransposePlan
    let input: Slot
    let output: Slot
    let context: KernelContext
    var kind: String { "Transpose" }

    func execute(_ arena: Arena) throws {
        plan.run(arena.pointer(input), arena.pointer(output), context: context)
    }
}

/// Add/Sub/Mul/Div/Pow with NumPy broadcasting, then an optional activation.
struct BroadcastBinaryStep: Step {
    let operation: ArithmeticOperation
    let shape: BroadcastShape
    let a: FloatSource
    let b: FloatSource
    let output: Slot
    let activation: Activation
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        broadcastBinary(operation, shape, a: a.pointer(arena), b: b.pointer(arena), output: arena.pointer(output),
                        activation: activation, context: context)
    }
}

/// A unary op (Erf, Gelu, Sqrt) followed by fused elementwise stages.
struct PointwiseStep: Step {
    struct Stage: Sendable {
        var operation: ArithmeticOperation
        var operand: FloatSource
        /// A one-value operand broadcast over every element.
        var scalar: Bool
        var operandFirst: Bool
    }
    let operation: UnaryOperation
    /// The input is multiplied by this first.
    let inputScale: Float
    let input: Slot
    let output: Slot
    let stages: [Stage]
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        let kernelStages = stages.map { s in
            let p = s.operand.pointer(arena)
            return s.scalar ? PointwiseStage(s.operation, scalar: p[0], operandFirst: s.operandFirst)
                            : PointwiseStage(s.operation, tensor: p, operandFirst: s.operandFirst)
        }
        pointwise(operation, arena.pointer(input), arena.pointer(output), count: output.count, inputScale: inputScale,
                  stages: kernelStages, context: context)
    }
}
