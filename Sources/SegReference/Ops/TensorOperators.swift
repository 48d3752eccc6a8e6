/// Operators of this family, registered in `OperatorRegistry.standard`: the ops that make,
/// reshape, reorder and index tensors without arithmetic on their elements (Tensor+*.swift).
package enum TensorOperators {
    package static let all: [OperatorDefinition] = [
        constant, constantOfShape, identity, dropoutOld, dropout, shapeOld, shape, size,
        reshape, flatten, squeezeOld, squeeze, unsqueezeOld, unsqueeze,
        transpose, expand, tile, depthToSpace, spaceToDepth,
        concat, splitOld, split, sliceOld, slice,
        gatherOp, gatherElements, gatherND, scatterND, scatterElements, scatterOld,
        padOld, pad, range, nonZero, trilu, oneHot,
    ]
}
