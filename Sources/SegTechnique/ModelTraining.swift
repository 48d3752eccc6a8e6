import SegGraph
import SegProtocol

/// How a technique trains a model without linking the training engine: the server hands one
/// in through `TechniqueContext.trainer`, bound to the request's dataset and threads, as it
/// hands in the runner. A recipe is `model/train`'s params: the same names, defaults and
/// validation as the method (its `id`, `dataset`, `inputs`/`labels`, `outputPath`,
/// `newId`, `overwrite` and `checkpointDir` are the server's business and ignored here).
public protocol ModelTraining: Sendable {
    /// Trains `model` (a technique's intermediate model: pruned, quantized, a student) and
    /// returns the best one by val mIoU (the last one when no val split is evaluated) with
    /// the training report (`history`, `stepMsP50`, `bestValMiou`, ...).
    func train(_ model: Model, recipe: ModelTrainRequest.Params,
               progress: @escaping @Sendable (_ fraction: Double, _ message: String) -> Void) async throws -> TrainedModel
    /// Reads a student model from an ONNX file (a `distill` student given by path), with the
    /// file named in any error.
    func loadStudent(_ path: String) throws -> Model
}

public struct TrainedModel: Sendable {
    public var model: Model
    public var report: JSONValue

    public init(model: Model, report: JSONValue) {
        self.model = model
        self.report = report
    }
}

extension ModelTraining {
    /// Trainers that read no files (test doubles) refuse student paths by default.
    public func loadStudent(_ path: String) throws -> Model {
        throw TechniqueError.notApplicable("this trainer cannot read a student from \(path)")
    }
}
