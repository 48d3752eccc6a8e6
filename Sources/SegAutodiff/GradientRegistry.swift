import SegReference

/// Backward rules by (domain, op type), each covering a range of opset versions. A node on a
/// trainable path whose operator has no rule here makes the program refuse to build, naming
/// the node (as loading refuses an operator the interpreter lacks).
package struct GradientRegistry: Sendable {
    private var rules: [String: [GradientRule]] = [:]

    package init(_ rules: [GradientRule] = []) {
        for rule in rules { add(rule) }
    }

    package mutating func add(_ rule: GradientRule) {
        rules[Self.key(rule.domain, rule.opType), default: []].append(rule)
    }

    package func rule(domain: String, opType: String, opset: Int) -> GradientRule? {
        rules[Self.key(OperatorRegistry.canonical(domain), opType)]?.first { $0.versions.contains(opset) }
    }

    private static func key(_ domain: String, _ opType: String) -> String { "\(domain)/\(opType)" }

    /// The rules this engine ships.
    package static let standard = GradientRegistry(
        ConvGradients.all + NormalizationGradients.all + ActivationGradients.all + ArithmeticGradients.all
        + LayoutGradients.all + ResizeGradients.all + PoolGradients.all
        + WindowPoolGradients.all + ReduceGradients.all + SoftmaxGradients.all + LayerNormGradients.all
        + MatMulGradients.all + PadSliceGradients.all + TransposeGradients.all + DropoutGradients.all + ConvTransposeGradients.all
        + QuantizeGradients.all)
}
