/// `model/compare {ids: [a, b], dataset, ...}`: two models on the same split, side by side,
/// with optional three-panel images (a, b, where they disagree).
public enum ModelCompareRequest: RPCRequest {
    public static let method = "model/compare"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// Two resident model ids `[a, b]`; deltas are b − a.
        public var ids: [String]?
        /// An open dataset's id, or a folder.
        public var dataset: String
        /// Default `val`.
        public var split: String?
        /// First N images only, 1...1000000.
        public var limit: Int?
        /// Write titled comparison panels (a | b | difference) here.
        public var outputDir: String?
        /// Overlay opacity, 0...1 (default 0.5).
        public var alpha: Double?
        /// Panels for the N images where the masks differ most, 0...1000 (default 4).
        public var panels: Int?
        /// Replace panels already in `outputDir` (default false: OutputExists, nothing written).
        public var overwrite: Bool?

        public init(ids: [String], dataset: String, split: String? = nil, limit: Int? = nil, outputDir: String? = nil, alpha: Double? = nil,
                    panels: Int? = nil, overwrite: Bool? = nil) {
            self.ids = ids
            self.dataset = dataset
            self.split = split
            self.limit = limit
            self.outputDir = outputDir
            self.alpha = alpha
            self.panels = panels
            self.overwrite = overwrite
        }

        public func validate() throws(ResponseError) {
            if let alpha, !(0...1).contains(alpha) { throw .invalidParams("params.alpha: \(alpha) is outside 0...1") }
            guard ids?.count == 2 else { throw .invalidParams("params.ids: expected two model ids [a, b]") }
            try checkRange(limit, "limit", 1...1_000_000)
            try checkRange(panels, "panels", 0...1000)
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        /// Comparison panels (with `outputDir`), the image where the masks differ most first.
        public var panels: [FileOrData]
        /// Which image each panel shows and how much of it differs, in `panels` order.
        public var panelImages: [PanelImage]?
        public var a: EvaluationMetrics
        public var b: EvaluationMetrics
        public var ids: [String]
        public var split: String
        /// Share of pixels where the two masks agree.
        public var pixelAgreement: Double
        /// b's mIoU − a's.
        public var miouDelta: Double
        public var perClassIoUDelta: [ClassDelta]
        /// b's p50 latency / a's.
        public var latencyRatio: Double
        /// b's file size / a's.
        public var sizeRatio: Double
        /// Defaults assumed for either model (no mean/std in its metadata); absent when none.
        public var warnings: [String]?

        public init(panels: [FileOrData], a: EvaluationMetrics, b: EvaluationMetrics, ids: [String], split: String, pixelAgreement: Double,
                    miouDelta: Double, perClassIoUDelta: [ClassDelta], latencyRatio: Double, sizeRatio: Double) {
            self.panels = panels
            self.a = a
            self.b = b
            self.ids = ids
            self.split = split
            self.pixelAgreement = pixelAgreement
            self.miouDelta = miouDelta
            self.perClassIoUDelta = perClassIoUDelta
            self.latencyRatio = latencyRatio
            self.sizeRatio = sizeRatio
        }
    }

    public struct PanelImage: Codable, Sendable, Equatable {
        /// The dataset image.
        public var image: String
        /// Share of its pixels where the two masks differ.
        public var differing: Double
        public init(image: String, differing: Double) { self.image = image; self.differing = differing }
    }

    public struct ClassDelta: Codable, Sendable, Equatable {
        public var name: String
        public var delta: Double
        enum CodingKeys: String, CodingKey { case name = "class", delta }
        public init(name: String, delta: Double) { self.name = name; self.delta = delta }
    }
}
