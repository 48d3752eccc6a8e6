import SegGraph
import SegProtocol

/// A compression technique: a graph transformation with a self-description.
///
/// A technique never touches the transport. It validates its parameters in `init` (bad
/// parameters are `TechniqueError.invalidParameter`, never crashes), reports progress and
/// checks cancellation through the context, and returns a new model: the input is never
/// mutated, so the original stays resident and comparable.
public protocol Technique: Sendable {
    /// Id, summary, parameter JSON Schema, needs and worked examples.
    static var descriptor: TechniqueDescriptor { get }

    /// Validates and keeps the parameters (`{}` when the caller gave none).
    init(parameters: JSONValue) throws(TechniqueError)

    func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult
}

/// What a technique hands back: the new model and a report of what it changed.
public struct TechniqueResult: Sendable {
    public var model: Model
    /// Technique-specific details (counts per rewrite, per-layer scales, ...), merged into
    /// the compress report under `details`.
    public var details: JSONValue

    public init(model: Model, details: JSONValue = [:]) {
        self.model = model
        self.details = details
    }
}

/// Errors a technique raises; the server maps them to InvalidParams or TechniqueFailed.
public enum TechniqueError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A parameter is missing, mistyped or out of range. `name` is the parameter's name.
    case invalidParameter(name: String, reason: String)
    /// The technique cannot be applied to this model (e.g. BN-γ pruning on a folded model).
    case notApplicable(String)
    case failed(String)

    public var description: String {
        switch self {
        case .invalidParameter(let name, let reason): return "parameter '\(name)': \(reason)"
        case .notApplicable(let why): return "not applicable: \(why)"
        case .failed(let why): return why
        }
    }
}
