import SegProtocol
import SegReference
import SegTechnique

extension ResponseError {
    /// The one mapping from technique errors to the wire, used when a technique is made
    /// (registry), applied or analysed, and by the catch-all in `ServerCore.responseError`.
    ///
    /// Bad or unknown parameters are the caller's fault (InvalidParams, naming `field`); a
    /// technique that cannot apply or fails is TechniqueFailed with its reason. Anything else a
    /// technique throws (a runtime or shape error) is TechniqueFailed too, since it arose while
    /// the technique ran; errors already meant for the wire pass through, and cancellation becomes
    /// RequestCancelled as anywhere else.
    ///
    /// - Parameters:
    ///   - technique: the technique id, for the message (nil when unknown).
    ///   - field: the request field holding the step (`"params"`, `"params.steps[2]"`).
    static func technique(_ error: any Error, technique: String?, field: String = "params") -> ResponseError {
        let prefix = technique.map { "technique '\($0)': " } ?? ""
        switch error {
        case let e as ResponseError:
            return e
        case is CancellationError, ExecutionError.cancelled:
            return .cancelled
        case let e as TechniqueRegistryError:
            if case .unknownTechnique = e { return ResponseError.invalidParams("\(field).technique: \(e)") }
            return ResponseError.invalidParams("\(field).params: \(e)")
        case let e as TechniqueError:
            if case .invalidParameter = e { return ResponseError.invalidParams("\(field).params: \(prefix)\(e)") }
            return ResponseError(.techniqueFailed, "\(prefix)\(e)")
        default:
            return ResponseError(.techniqueFailed, "\(prefix)\(error)")
        }
    }
}
