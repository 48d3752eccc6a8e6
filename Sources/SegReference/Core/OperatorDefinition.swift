import SegGraph
import SegTensor

/// What inference knows about one input: its type (dtype and possibly symbolic shape) and,
/// when it is a constant (an initializer, a Constant, or folded), its value.
package struct InferredValue: Sendable {
    package var type: TensorType?
    package var constant: Tensor?

    package init(type: TensorType?, constant: Tensor? = nil) {
        self.type = type
        self.constant = constant
    }

    package init(constant: Tensor) {
        self.type = TensorType(elementType: constant.dtype, shape: constant.dims.map { .value($0) })
        self.constant = constant
    }

    package var dtype: DType? { type?.elementType }
    package var shape: [Dimension]? { type?.shape }
    package var rank: Int? { type?.shape?.count }
}

/// One operator implementation: the opset versions it covers, how to check a node at load,
/// how to infer output types, and how to run it.
///
/// `run` gets one entry per node input (nil for an absent optional input, written `""`) and
/// returns the outputs in order; it may return fewer than the node lists only when the rest
/// are optional outputs the op does not produce. Kernels throw `OpError` for what they refuse
/// and may let `TensorError` through; the executor attaches the node.
package struct OperatorDefinition: Sendable {
    package typealias Check = @Sendable (NodeContext) throws -> Void
    package typealias Infer = @Sendable (NodeContext, [InferredValue?]) throws -> [TensorType?]
    package typealias Run = @Sendable (NodeContext, [Tensor?]) throws -> [Tensor]

    package var domain: String
    package var opType: String
    /// Opset versions of the domain this implementation is right for (inclusive).
    package var versions: ClosedRange<Int>
    /// Attributes the implementation understands; any other attribute on a node is refused
    /// at load, so a model never runs with an attribute silently ignored.
    package var attributes: Set<String>
    package var check: Check?
    package var infer: Infer?
    package var run: Run

    package init(_ opType: String, domain: String = "", versions: ClosedRange<Int> = 1...Int.max,
                attributes: Set<String> = [], check: Check? = nil, infer: Infer? = nil, run: @escaping Run) {
        self.domain = domain
        self.opType = opType
        self.versions = versions
        self.attributes = attributes
        self.check = check
        self.infer = infer
        self.run = run
    }
}
