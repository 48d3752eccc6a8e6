/// Operators of this family, registered in `OperatorRegistry.standard`: convolutions,
/// normalisations, matrix products, pooling and resizing. Kernels live in
/// `NeuralNetwork+<Topic>.swift`; shared helpers in Core/nnSupport.swift.
package enum NeuralNetworkOperators {
    package static let all: [OperatorDefinition] = [
        conv, convTranspose, convInteger, qlinearConv,
        batchNorm7, batchNorm9, batchNorm14, instanceNorm, layerNorm, groupNorm18, groupNorm21, lpNorm,
        matMul, gemm, einsum,
        globalAveragePool, globalMaxPool, globalLpPool, averagePool, maxPool, lpPool,
        resize10, resize11, resize18, upsample7, upsample9, gridSample16, gridSample20,
    ]
}
