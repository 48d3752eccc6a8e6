import SegGraph
import SegProtocol

/// A compression technique: a graph transformation with a self-description.
///
/// A technique never touches the transport. Its parameters are checked against the
/// descriptor's JSON Schema (`TechniqueDescriptor.validate`, which the registry runs and `init`
/// should call first), so `init` keeps only cross-field rules (bad parameters are
/// `TechniqueError.invalidParameter`, never crashes). It reports progress, checks cancellation
/// and runs models through the context, and returns a new model: the input is never mutated,
/// so the original stays resident and comparable.
public protocol Technique: Sendable {
    /// Id, summary, parameter JSON Schema, needs and worked examples.
    static var descriptor: TechniqueDescriptor { get }

    /// Validates and keeps the parameters (`{}` when the caller gave none).
    init(parameters: JSONValue) throws(TechniqueError)

    func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult
}

/// What a technique hands back: the new model, a report of what it changed, and the facts the
/// server acts on as typed fields (never as keys it has to find in `details`).
public struct TechniqueResult: Sendable {
    public var model: Model
    /// Technique-specific details (counts per rewrite, per-layer scales, ...), merged into
    /// the compress report under `details`.
    public var details: JSONValue
    /// The technique only reported what it would do: the server keeps no model, writes no
    /// file and stops the pipeline here.
    public var dryRun: Bool
    /// Budgets the caller set that the result does not meet (the best model found is still
    /// returned); the server lists them in the report's `budgetMisses`.
    public var budgetMisses: [BudgetMiss]

    public init(model: Model, details: JSONValue = [:], dryRun: Bool = false, budgetMisses: [BudgetMiss] = []) {
        self.model = model
        self.details = details
        self.dryRun = dryRun
        self.budgetMisses = budgetMisses
    }
}

/// A caller's budget the technique could not meet, e.g. `maxMiouDrop` 0.001 with 0.004 reached.
public struct BudgetMiss: Sendable, Equatable {
    /// The parameter that set the budget (`"maxMiouDrop"`).
    public var parameter: String
    public var limit: Double
    /// What the returned model reaches, in the parameter's unit.
    public var achieved: Double
    /// One line for people: what was returned instead.
    public var note: String

    public init(parameter: String, limit: Double, achieved: Double, note: String) {
        self.parameter = parameter
        self.limit = limit
        self.achieved = achieved
        self.note = note
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

/// A technique that can measure, layer by layer, what it would cost (`model/sensitivity`):
/// PaddleSlim-style, each candidate layer is compressed alone and the model is scored with
/// `context.accuracy`. The result is reused to choose per-layer settings under a budget.
public protocol SensitivityAnalyzing: Technique {
    /// `limit`: at most this many images of the accuracy split per measurement (nil: the
    /// technique's default, which keeps a run to minutes).
    func sensitivity(of model: Model, in context: TechniqueContext, limit: Int?) async throws -> SensitivityReport
}

/// Per-layer sensitivity: the baseline score and, for each layer and setting, the score with
/// only that layer changed. Sorted most sensitive first.
public struct SensitivityReport: Sendable {
    public struct Entry: Sendable {
        /// Node name (or a group name when several nodes change together).
        public var layer: String
        public var opType: String
        /// The setting measured: `"int8"` for quantization, `"0.3"` for a pruning ratio.
        public var setting: String
        public var score: AccuracyScore
        /// Technique-specific extras (output SQNR, channels, MACs saved).
        public var details: JSONValue

        public init(layer: String, opType: String, setting: String, score: AccuracyScore, details: JSONValue = [:]) {
            self.layer = layer
            self.opType = opType
            self.setting = setting
            self.score = score
            self.details = details
        }
    }

    public var baseline: AccuracyScore
    public var entries: [Entry]
    public var split: String

    public init(baseline: AccuracyScore, entries: [Entry], split: String) {
        self.baseline = baseline
        self.split = split
        self.entries = entries.sorted { ($0.score.miou, $0.layer, $0.setting) < ($1.score.miou, $1.layer, $1.setting) }
    }

    public var json: JSONValue {
        [
            "split": .string(split),
            "baseline": baseline.json,
            "layers": .array(entries.map { e in
                ["layer": .string(e.layer), "opType": .string(e.opType), "setting": .string(e.setting),
                 "miou": .double(e.score.miou), "miouDrop": .double(baseline.miou - e.score.miou),
                 "pixelAccuracy": .double(e.score.pixelAccuracy), "details": e.details]
            }),
        ]
    }
}
