import Foundation
import SegProtocol
import SegKernels
import SegReference
import SegTensor
import SegTechnique

/// What every connection of one daemon shares: configuration, techniques, resident models,
/// counters and the method table.
package final class ServerCore: Sendable {
    package let configuration: ServerConfiguration
    package let registry: TechniqueRegistry
    package let models: ModelStore
    package let datasets = DatasetStore()
    /// Model families `model/segment` chooses a variant from (light mode).
    package let variants = VariantFamilies()
    let stats = ServerStats()
    let methods: [String: MethodHandler]

    package init(configuration: ServerConfiguration = .init(), registry: TechniqueRegistry = .builtIn) {
        self.configuration = configuration
        self.registry = registry
        self.models = ModelStore(budgetBytes: configuration.memoryBudgetBytes)
        var table: [String: MethodHandler] = [:]
        for h in Self.standardMethods + Self.modelMethods + Self.datasetMethods + Self.segmentMethods + Self.compressMethods + Self.autoCompressMethods + Self.variantMethods + Self.trainMethods + Self.buildMethods + Self.benchmarkMethods where !h.debugOnly || configuration.enableDebugMethods {
            table[h.method] = h
        }
        self.methods = table
    }

    /// Method names this daemon answers, for `initialize`'s capabilities.
    package var methodNames: [String] {
        (["initialize", "initialized", "shutdown", "exit", CancelRequestNotification.method] + methods.keys).sorted()
    }

    func initializeResult() -> InitializeRequest.Result {
        InitializeRequest.Result(
            serverName: "segslimd",
            serverVersion: SegSlimVersion.current,
            methods: methodNames,
            techniques: registry.ids,
            formats: ["models": ["onnx"], "tensors": ["npy"], "images": ["png", "jpeg"], "masks": ["png"]],
            limits: [
                "maxMessageBytes": .int(Int64(configuration.maxMessageBytes)),
                "memoryBudgetBytes": .int(configuration.memoryBudgetBytes),
                "maxBatchSize": .int(Int64(Self.maxBatchSize)),
            ],
            operators: OperatorRegistry.standard.supported.map { op in
                ["domain": .string(op.domain.isEmpty ? "ai.onnx" : op.domain), "opType": .string(op.opType),
                 "opsets": .array(op.versions.map { .string($0.upperBound == Int.max ? "\($0.lowerBound)+" : "\($0.lowerBound)-\($0.upperBound)") })]
            })
    }

    /// A batch larger than this is refused whole: each element may start a task.
    static let maxBatchSize = 1024

    /// Maps any error a handler throws to what goes on the wire.
    static func responseError(for error: any Error) -> ResponseError {
        switch error {
        case let e as ResponseError: return e
        case is CancellationError: return .cancelled
        case ExecutionError.cancelled: return .cancelled
        case is TechniqueRegistryError, is TechniqueError:
            return .technique(error, technique: nil)
        // A model and its input meeting a check (sizes, shapes, a node's data) where no
        // handler mapped it: the user's model or input, not a bug.
        case let e as ExecutionError:
            switch e {
            case .cancelled: return .cancelled
            case .inputMismatch, .missingInput, .unknownInput: return .invalidParams("the model cannot take this input: \(e)")
            default: return ModelErrors.response(for: e, file: "the model")
            }
        case is KernelError, is TensorError:
            return ModelErrors.response(for: error, file: "the model")
        default:
            Log.error("internal error: \(error)")
            return ResponseError(.internalError, "internal error: \(error)")
        }
    }
}
