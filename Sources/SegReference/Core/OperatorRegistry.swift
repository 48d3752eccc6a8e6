import SegGraph

/// Operators by (domain, op type); several definitions of one op cover different opset ranges.
package struct OperatorRegistry: Sendable {
    package struct Key: Hashable, Sendable {
        package var domain: String
        package var opType: String
    }

    private var definitions: [Key: [OperatorDefinition]] = [:]

    package init(_ definitions: [OperatorDefinition] = []) {
        for d in definitions { register(d) }
    }

    package mutating func register(_ definition: OperatorDefinition) {
        definitions[Key(domain: Self.canonical(definition.domain), opType: definition.opType), default: []].append(definition)
    }

    /// `ai.onnx` and `` are the same domain.
    package static func canonical(_ domain: String) -> String { domain == "ai.onnx" ? "" : domain }

    /// The implementation of `opType` for a model importing `opset` of `domain`.
    package func definition(domain: String, opType: String, opset: Int) -> OperatorDefinition? {
        definitions[Key(domain: Self.canonical(domain), opType: opType)]?.first { $0.versions.contains(opset) }
    }

    /// Every (domain, op) with the opset ranges implemented, for `initialize`'s capabilities.
    package var supported: [(domain: String, opType: String, versions: [ClosedRange<Int>])] {
        definitions.map { ($0.key.domain, $0.key.opType, $0.value.map(\.versions)) }
            .sorted { ($0.domain, $0.opType) < ($1.domain, $1.opType) }
    }

    package var count: Int { definitions.count }
}
