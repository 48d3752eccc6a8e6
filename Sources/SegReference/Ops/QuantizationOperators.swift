/// Operators of this family, registered in `OperatorRegistry.standard`.
public enum QuantizationOperators {
    public static let all: [OperatorDefinition] = []
}
