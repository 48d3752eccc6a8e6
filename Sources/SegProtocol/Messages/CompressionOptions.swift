/// What `model/compress`, `model/pipeline` and `model/sensitivity` share: the data techniques
/// may use and how the result is checked.
public struct CalibrationParams: Codable, Sendable, Equatable, ValidatingParams {
    /// A split of `dataset` (default: train, else the first split).
    public var split: String?
    /// Images spread evenly over the split or folder, 1...100000 (default 100).
    public var count: Int?
    /// A plain folder of unlabelled images instead of a dataset split.
    public var path: String?

    public init(split: String? = nil, count: Int? = nil, path: String? = nil) {
        self.split = split
        self.count = count
        self.path = path
    }

    public func validate() throws(ResponseError) {
        if let count, !(1...100_000).contains(count) {
            throw .invalidParams("params.calibration.count: \(count) is out of range 1...100000")
        }
    }
}

/// One technique with its parameters (its JSON Schema is in `technique/list`).
public struct TechniqueStep: Codable, Sendable, Equatable {
    /// A registered technique id.
    public var technique: String
    /// The technique's parameters (default `{}`).
    public var params: JSONValue?
    public init(technique: String, params: JSONValue? = nil) { self.technique = technique; self.params = params }
}

/// `model/compress` and `model/pipeline`'s result.
public struct CompressResult: Codable, Sendable, Equatable {
    /// The new resident model (null after a dry run).
    @EncodesNull public var id: String?
    /// Where it was written (null without `outputPath`, or after a dry run).
    @EncodesNull public var path: String?
    /// True when the technique only reported what it would do.
    public var dryRun: Bool?
    /// `{technique, steps, source, before, after, sizeRatio, durationMs, toolVersion, data,
    /// latency?, evaluation?}`; each step's `details` is technique-specific.
    public var report: JSONValue

    public init(id: String?, path: String?, dryRun: Bool? = nil, report: JSONValue) {
        self.id = id
        self.path = path
        self.dryRun = dryRun
        self.report = report
    }
}
