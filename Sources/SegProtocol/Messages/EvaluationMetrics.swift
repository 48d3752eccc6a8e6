/// Scores of one model on one split: what `model/evaluate` returns, and each side of
/// `model/compare` and of a compress report's evaluation.
public struct EvaluationMetrics: Codable, Sendable, Equatable {
    /// Mean intersection over union over the classes present in labels or predictions.
    public var miou: Double
    public var pixelAccuracy: Double
    public var meanAccuracy: Double
    /// Cohen's kappa.
    public var kappa: Double
    public var meanDice: Double
    public var perClassIoU: [ClassIoU]
    /// Images scored.
    public var images: Int
    /// Inference time per image.
    public var latency: Latency
    public var imagesPerSecond: Double
    /// Label pixels outside the class range (not void), ignored.
    public var outOfRangeLabels: Int64

    public init(miou: Double, pixelAccuracy: Double, meanAccuracy: Double, kappa: Double, meanDice: Double, perClassIoU: [ClassIoU],
                images: Int, latency: Latency, imagesPerSecond: Double, outOfRangeLabels: Int64) {
        self.miou = miou
        self.pixelAccuracy = pixelAccuracy
        self.meanAccuracy = meanAccuracy
        self.kappa = kappa
        self.meanDice = meanDice
        self.perClassIoU = perClassIoU
        self.images = images
        self.latency = latency
        self.imagesPerSecond = imagesPerSecond
        self.outOfRangeLabels = outOfRangeLabels
    }

    public struct ClassIoU: Codable, Sendable, Equatable {
        public var name: String
        public var iou: Double
        enum CodingKeys: String, CodingKey { case name = "class", iou }
        public init(name: String, iou: Double) { self.name = name; self.iou = iou }
    }

    public struct Latency: Codable, Sendable, Equatable {
        public var p50Ms: Double
        public var p90Ms: Double
        public var meanMs: Double
        /// The fastest image: with p50 it tells a steady timing from a noisy one.
        public var minMs: Double?
        public init(p50Ms: Double, p90Ms: Double, meanMs: Double, minMs: Double? = nil) {
            self.p50Ms = p50Ms
            self.p90Ms = p90Ms
            self.meanMs = meanMs
            self.minMs = minMs
        }
    }
}
