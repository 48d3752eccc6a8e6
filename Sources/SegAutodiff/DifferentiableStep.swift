import SegGraph
import SegReference
import SegTensor
import SegKernels

/// One node of a training program: a forward pass that keeps what its backward pass needs,
/// and the backward pass (vector-Jacobian product). Built by a `GradientRule` for one node at
/// fixed input shapes; used by one thread at a time (the program runs steps in order).
package protocol DifferentiableStep: AnyObject {
    /// `inputs` has one entry per node input: the value for dynamic float inputs (activations,
    /// trainable parameters), nil for absent inputs and for static ones (the rule read those
    /// at build time from `RuleContext.constants`). Returns the node's outputs in order.
    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor]
    /// Gradients of the loss with respect to the inputs where `wanted[i]`, given the gradients
    /// with respect to the outputs (nil: no gradient reaches that output, i.e. zero).
    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?]
    /// Values the last forward wrote into state inputs (BatchNormalization's running mean and
    /// variance), by node input index.
    var stateUpdates: [Int: FloatTensor] { get }
    /// Drops saved activations (after backward, or when a step is abandoned).
    func release()
}

extension DifferentiableStep {
    package var stateUpdates: [Int: FloatTensor] { [:] }
}

/// What a rule sees when it builds a step: the node, its attribute reader, the shapes of its
/// inputs and outputs at the program's input shapes, and the values of its static inputs.
package struct RuleContext {
    package let node: Node
    package let label: String
    package let attributes: NodeContext
    package let inputShapes: [[Int]?]
    package let outputShapes: [[Int]?]
    /// Values of static inputs (shape constants, Resize scales, frozen weights); nil for
    /// dynamic or absent inputs.
    package let constants: [Tensor?]
    /// Which inputs carry gradients (trainable parameters, activations downstream of them).
    package let dynamic: [Bool]
    package let options: TrainingOptions
    package let kernels: KernelContext

    package func error(_ why: String) -> AutodiffError { .node(label, why) }

    package func inputShape(_ i: Int) throws(AutodiffError) -> [Int] {
        guard i < inputShapes.count, let s = inputShapes[i] else { throw error("the shape of input \(i) is unknown") }
        return s
    }

    package func outputShape(_ i: Int) throws(AutodiffError) -> [Int] {
        guard i < outputShapes.count, let s = outputShapes[i] else { throw error("the shape of output \(i) is unknown") }
        return s
    }

    /// A static input as float scalars (e.g. a frozen weight), or nil when dynamic or absent.
    package func constantFloats(_ i: Int) throws(AutodiffError) -> [Float]? {
        guard i < constants.count, let t = constants[i] else { return nil }
        return try FloatTensor(t, name: node.inputs[i]).scalars
    }

    /// A static integer input (shapes, axes, pads) as Ints, or nil when absent.
    package func constantInts(_ i: Int) throws(AutodiffError) -> [Int]? {
        guard i < node.inputs.count, !node.inputs[i].isEmpty else { return nil }
        guard i < constants.count, let t = constants[i] else {
            throw error("input \(i) ('\(node.inputs[i])') must be a constant for training")
        }
        do { return try t.converted(to: .i64).scalars(as: Int64.self).map { Int($0) } }
        catch { throw self.error("input \(i) ('\(node.inputs[i])') is not an integer tensor") }
    }

    /// Reads attributes with the reference interpreter's reader, mapping its errors to ours.
    package func attribute<T>(_ read: (NodeContext) throws -> T) throws(AutodiffError) -> T {
        do { return try read(attributes) } catch { throw self.error("\(error)") }
    }
}

/// Program-wide choices that change how some ops train.
package struct TrainingOptions: Sendable, Equatable {
    /// BatchNormalization normalises with its running statistics and leaves them unchanged
    /// (fine-tuning with small batches), instead of batch statistics with a momentum update.
    package var freezeBatchNorm: Bool
    /// Seed of Dropout's masks; each forward draws the next mask.
    package var seed: UInt64

    package init(freezeBatchNorm: Bool = false, seed: UInt64 = 0) {
        self.freezeBatchNorm = freezeBatchNorm
        self.seed = seed
    }
}

/// How to build the differentiable step of one operator, for the opset versions it covers:
/// registered the way `OperatorDefinition`s are.
package struct GradientRule: Sendable {
    package typealias Make = @Sendable (RuleContext) throws(AutodiffError) -> DifferentiableStep
    package var domain: String
    package var opType: String
    package var versions: ClosedRange<Int>
    package var make: Make

    package init(_ opType: String, domain: String = "", versions: ClosedRange<Int> = 1...Int.max, make: @escaping Make) {
        self.opType = opType
        self.domain = domain
        self.versions = versions
        self.make = make
    }
}
