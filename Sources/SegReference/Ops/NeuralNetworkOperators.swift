/// Operators of this family, registered in `OperatorRegistry.standard`.
public enum NeuralNetworkOperators {
    public static let all: [OperatorDefinition] = []
}
