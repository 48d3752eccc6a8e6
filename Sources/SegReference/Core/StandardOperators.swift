/// Every operator the reference executor implements, one list per family. Adding a family
/// means adding its list here.
extension OperatorRegistry {
    package static let standard = OperatorRegistry(
        ElementwiseOperators.all
            + NeuralNetworkOperators.all
            + TensorOperators.all
            + QuantizationOperators.all
    )
}
