import SegGraph
import SegReference
import SegTensor

/// Replaces every node whose outputs are all known at load (constant inputs, and shape
/// subgraphs once input shapes are static: Shape → Gather → Concat → Reshape) by
/// initializers. `inputShapes` fixes dynamic input dims for folding shape computations.
package struct FoldConstants: GraphRewrite {
    package let name = "foldConstants"
    package var inputShapes: [String: [Int]]
    /// Largest folded tensor kept as an initializer (bigger ones stay computed at run time,
    /// e.g. an Expand that would bake a huge constant into the file).
    package var maxElements: Int
    /// Op types never folded even when constant. Rewrites that write files keep
    /// `quantizedWeights`: DequantizeLinear of an s8 initializer *is* the quantized model
    /// (folding it would write FP32 weights back); the runtime folds everything.
    package var keepOpTypes: Set<String>
    package static let quantizedWeights: Set<String> = ["DequantizeLinear"]

    package init(inputShapes: [String: [Int]] = [:], maxElements: Int = 1 << 16, keepOpTypes: Set<String> = []) {
        self.inputShapes = inputShapes
        self.maxElements = maxElements
        self.keepOpTypes = keepOpTypes
    }

    package func apply(to model: inout Model) throws -> Int {
        let inference = try ShapeInference(model: model, inputShapes: inputShapes)
        var g = model.graph
        var count = 0
        var kept: [Node] = []
        for node in g.nodes {
            let outs = node.outputs.filter { !$0.isEmpty }
            // A Constant whose value is already an initializer-sized literal is folded too: it
            // becomes an initializer, which every ONNX consumer handles.
            let folded = outs.compactMap { inference.constants[$0] }
            if !outs.isEmpty, folded.count == outs.count, !keepOpTypes.contains(node.opType), folded.allSatisfy({ $0.elementCount <= maxElements }),
               node.attributes.allSatisfy({ $0.value.subgraphs.isEmpty }) {
                for (name, t) in zip(outs, folded) { g.initializers[name] = t }
                count += 1
            } else {
                kept.append(node)
            }
        }
        g.nodes = kept
        model.graph = g
        return count
    }
}
