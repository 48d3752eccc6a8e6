import SegGraph
import SegReference
import SegTensor

/// Whether a model computes each image of a batch on its own, so that a batch of N may run as N
/// batch-1 runs with the same outputs.
///
/// Why: at high resolution a batch's activations leave the cache between layers (LRASPP at
/// 360×480: 11 MB per image for one 64-channel map at 180×240, 44 MB for four), so a batch of
/// four cost 1.5× batch 1 per image at one thread; image by image each layer reads what the
/// previous one left in cache.
///
/// The check is conservative: every node that is not folded away must be an operator known to
/// treat the leading axis as independent samples (given its attributes), and every float value
/// must be N times as long on axis 0 at batch N as at batch 1, with the same other dims.
enum BatchSeparability {
    /// Operators that never mix samples along axis 0, whatever their attributes.
    static let perSample: Set<String> = [
        "Conv", "ConvTranspose", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Clip",
        "Elu", "Selu", "Gelu", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Floor", "Ceil", "Round", "Sign",
        "Softplus", "Mish", "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Where", "Equal", "Less",
        "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or", "Xor", "Cast", "Identity", "Dropout",
        "InstanceNormalization", "GlobalAveragePool", "GlobalMaxPool", "AveragePool", "MaxPool", "LpPool", "Resize",
        "Upsample", "MatMul", "DepthToSpace", "SpaceToDepth", "GridSample", "Reshape", "Expand",
        // The runtime's fused forms of the above (ai.segslim).
        "FusedConv", "FusedGelu",
    ]

    /// Operators that keep samples apart unless an attribute points them at axis 0.
    static func keepsSamplesApart(_ node: Node, rank: Int?) -> Bool {
        func axis(_ name: String, default value: Int) -> Int? {
            var a = value
            if case .int(let v)? = node[attribute: name] { a = v }
            guard let rank else { return a >= 0 ? a : nil }
            return a < 0 ? a + rank : a
        }
        switch node.opType {
        case "Concat", "Softmax", "LogSoftmax", "Hardmax", "Split", "Flatten":
            let d = node.opType == "Concat" || node.opType == "Split" ? 0 : (node.opType == "Flatten" ? 1 : -1)
            guard let a = axis("axis", default: d) else { return false }
            return a != 0
        case "LayerNormalization":
            guard let a = axis("axis", default: -1) else { return false }
            return a != 0
        case "Transpose":
            guard case .ints(let perm)? = node[attribute: "perm"] else { return false }
            return perm.first == 0
        case "BatchNormalization":
            if case .int(let training)? = node[attribute: "training_mode"], training != 0 { return false }
            return true
        case "Gemm":
            if case .int(let t)? = node[attribute: "transA"], t != 0 { return false }
            return true
        default:
            return perSample.contains(node.opType)
        }
    }

    /// `batched` and `single` are the model's shapes at batch `batch` and at batch 1.
    static func holds(_ model: Model, batched: ShapeInference, single: ShapeInference, batch: Int) -> Bool {
        guard batch > 1 else { return false }
        // An output that is a constant would be repeated per image instead of given once.
        for output in model.graph.outputs where batched.constants[output.name] != nil { return false }
        for node in model.graph.nodes {
            // Shape arithmetic that folds to constants (Shape → Gather → Concat) is not per sample.
            if !node.outputs.isEmpty && node.outputs.allSatisfy({ $0.isEmpty || batched.constants[$0] != nil }) { continue }
            let rank = node.inputs.first.flatMap { batched.types[$0]?.shape?.count }
            guard keepsSamplesApart(node, rank: rank) else { return false }
            for name in node.outputs where !name.isEmpty {
                guard let n = batched.types[name], let one = single.types[name] else { return false }
                guard let dtype = n.elementType, dtype.isFloatingPoint else { continue }
                guard let dn = n.shape, let d1 = one.shape, dn.count == d1.count, !dn.isEmpty,
                      case .value(let n0) = dn[0], case .value(let one0) = d1[0], n0 == batch * one0,
                      dn.dropFirst() == d1.dropFirst() else { return false }
            }
        }
        return true
    }
}
