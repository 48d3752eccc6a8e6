/// Operators of this family, registered in `OperatorRegistry.standard`.
public enum TensorOperators {
    public static let all: [OperatorDefinition] = []
}
