import SegKernels

/// output = input seen through `strides` from `offset` (Reshape and friends, Slice).
struct CopyStep: Step {
    let input: Slot
    let output: Slot
    let offset: Int
    let strides: [Int]
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        try stridedCopy(input: arena.pointer(input), offset: offset, inputStrides: strides, dims: output.dims,
                        output: arena.pointer(output), context: context)
    }
}

/// One strided view of the input per output.
struct SplitStep: Step {
    struct Piece: Sendable {
        var offset: Int
        var dims: [Int]
        var strides: [Int]
    }
    let input: Slot
    let outputs: [Slot]
    let pieces: [Piece]
    let context: KernelContext
    var kind: String { "Split" }

    func execute(_ arena: Arena) throws {
        for (slot, piece) in zip(outputs, pieces) {
            try stridedCopy(input: arena.pointer(input), offset: piece.offset, inputStrides: piece.strides, dims: piece.dims,
                            output: arena.pointer(slot), context: context)
        }
    }
}

/// Gather with constant, in-range indices: [outer, n, inner] → [outer, indices, inner].
struct GatherStep: Step {
    let input: Slot
    let output: Slot
    let indices: [Int]
    let outer: Int, axisLength: Int, inner: Int
    var kind: String { "Gather" }

    func execute(_ arena: Arena) throws {
        let x = arena.pointer(input), y = arena.pointer(output)
        var dst = y
        for o in 0..<outer {
            for index in indices {
                dst.update(from: x + (o * axisLength + index) * inner, count: inner)
                dst += inner
            }
        }
    }
}

struct PoolStep: Step {
    let pool: PoolKind
    let shape: Pool2DShape
    let input: Slot
    let output: Slot
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        try pool2D(pool, shape: shape, input: arena.pointer(input), batch: input.dims[0], output: arena.pointer(output), context: context)
    }
}

/// Reduce* over adjacent axes, as [outer, reduced, inner] → [outer, inner].
struct ReduceStep: Step {
    let operation: ReduceOperation
    let input: Slot
    let output: Slot
    let outer: Int, reduced: Int, inner: Int
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        try reduce(operation, input: arena.pointer(input), outer: outer, reduced: reduced, inner: inner,
                   output: arena.pointer(output), context: context)
    }
}

struct InstanceNormStep: Step {
    let input: Slot
    let output: Slot
    let scale: ConstantFloats
    let bias: ConstantFloats
    let epsilon: Float
    let activation: Activation
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        let d = input.dims
        try instanceNormalization(input: arena.pointer(input), planes: d[0] * d[1], channels: d[1], plane: d.dropFirst(2).reduce(1, *),
                                  epsilon: epsilon, scale: scale.pointer, bias: bias.pointer, output: arena.pointer(output),
                                  activation: activation, context: context)
    }
}

/// Inference BatchNormalization folded to y = act(x·scale[c] + shift[c]).
struct ChannelAffineStep: Step {
    let input: Slot
    let output: Slot
    let scale: ConstantFloats
    let shift: ConstantFloats
    let activation: Activation
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        let d = input.dims
        try channelAffine(input: arena.pointer(input), batch: d[0], channels: d[1], plane: d.dropFirst(2).reduce(1, *),
                          scale: scale.pointer, shift: shift.pointer, output: arena.pointer(output),
                          activation: activation, context: context)
    }
}
