import SegKernels

// What a compiled plan keeps resident besides the model itself: the weights its steps packed
// or copied at compile time, and the arena a run works in. The server charges this against
// its memory budget. Tensors a step only references (fallback constants, which share the
// model's initializer storage) are not counted again.

extension Step {
    /// Most steps hold only slots and shapes.
    var heldBytes: Int { 0 }
}

extension ConstantFloats {
    var heldBytes: Int { count * MemoryLayout<Float>.size }
}

extension FloatSource {
    var heldBytes: Int {
        if case .constant(let c) = self { return c.heldBytes }
        return 0
    }
}

extension ConvStep { var heldBytes: Int { conv.heldBytes } }
extension ConvTransposeStep { var heldBytes: Int { kernel.heldBytes } }
extension QConvStep { var heldBytes: Int { conv.heldBytes } }
extension QLookupStep { var heldBytes: Int { table.count } }
extension BinaryStep { var heldBytes: Int { bValues.count * MemoryLayout<Float>.size } }
extension ChannelAffineStep { var heldBytes: Int { scale.heldBytes + shift.heldBytes } }
extension InstanceNormStep { var heldBytes: Int { scale.heldBytes + bias.heldBytes } }
extension ConcatStep { var heldBytes: Int { inputs.reduce(0) { $0 + $1.heldBytes } } }
extension BroadcastBinaryStep { var heldBytes: Int { a.heldBytes + b.heldBytes } }
extension PointwiseStep { var heldBytes: Int { stages.reduce(0) { $0 + $1.operand.heldBytes } } }

extension MatMulStep {
    var heldBytes: Int { a.heldBytes + (b?.heldBytes ?? 0) + (packedB?.heldBytes ?? 0) + (bias?.heldBytes ?? 0) }
}

extension MatMulTransposedStep {
    var heldBytes: Int { packedWeights.heldBytes + (bias?.heldBytes ?? 0) }
}

extension GemmStep {
    var heldBytes: Int {
        a.heldBytes + (b?.heldBytes ?? 0) + (packedB?.heldBytes ?? 0) + (bias?.heldBytes ?? 0) + (residual?.heldBytes ?? 0)
    }
}

extension CompiledModel {
    /// Bytes of weights packed or copied at compile time, summed over the steps.
    package var weightBytes: Int { steps.reduce(0) { $0 + $1.heldBytes } }

    /// What the plan keeps resident while cached: its weights and one arena (a run checks one
    /// out; concurrent runs add more, returned afterwards, which are not charged).
    package var residentBytes: Int { weightBytes + arenaBytes }
}
