/// `model/build {arch, classes, outputPath, ...}`: write an untrained, trainable student
/// network of a named architecture (torchvision's initialisation, seeded) and keep it resident.
/// `{list: true}` lists the architectures instead.
public enum ModelBuildRequest: RPCRequest {
    public static let method = "model/build"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// Architecture name (`lraspp-mobilenetv3-small`, ...; see `list`), or `slim`: the
        /// teacher with `width` of its channels kept, weights inherited.
        public var arch: String?
        /// Number of classes, 1...4096; default: the teacher's.
        public var classes: Int?
        /// Width multiplier of the backbone (default 1; MobileNetV3 and GhostNet).
        public var width: Double?
        /// `[height, width]` of the fixed input (default 360×480, or the teacher's); `[]` for
        /// a symbolic N×3×H×W input.
        public var inputSize: [Int]?
        /// Seed of the weights (default 0): the same request writes the same bytes.
        public var seed: Int?
        /// A model file (or a resident model's id) whose classes, palette, preprocessing and
        /// input size the student takes; its class count must equal `classes` when both are given.
        public var teacher: String?
        /// `slim` only: the prune criterion choosing the channels kept (`l1` default, `l2`,
        /// `fpgm`, `bnGamma`, `random`).
        public var criterion: String?
        /// Where to write the model; required unless `list`.
        public var outputPath: String?
        public var overwrite: Bool?
        /// Id of the resident student (default: the file's stem, made unique).
        public var newId: String?
        /// List the architectures (name, summary, widths, parameters and MACs at 360×480) and build nothing.
        public var list: Bool?

        public init(arch: String? = nil, classes: Int? = nil, outputPath: String? = nil, list: Bool? = nil) {
            self.list = list
            self.arch = arch
            self.classes = classes
            self.outputPath = outputPath
        }

        public func validate() throws(ResponseError) {
            if list == true { return }
            if arch == nil { throw .invalidParams("params.arch: required (or list: true)") }
            if outputPath == nil { throw .invalidParams("params.outputPath: required") }
            if classes == nil && teacher == nil { throw .invalidParams("params.classes: required without a teacher") }
            try checkRange(classes, "classes", 1...4096)
            try checkRange(seed, "seed", 0...Int64(UInt32.max))
            if let width, !(width.isFinite && width > 0) { throw .invalidParams("params.width: \(width) must be a positive number") }
            if let s = inputSize, !(s.isEmpty || (s.count == 2 && s.allSatisfy { (32...8192).contains($0) })) {
                throw .invalidParams("params.inputSize: expected [height, width], each 32...8192, or [] for symbolic sizes")
            }
        }
    }

    /// One architecture in a listing.
    public struct Architecture: Codable, Sendable, Equatable {
        public var name: String
        public var summary: String
        /// Accepted width multipliers `[min, max]`.
        public var widthRange: [Double]
        /// Parameters (initializer elements, BatchNorm statistics included) and trainable
        /// parameters, 11 classes, width 1.
        public var parameters: Int
        public var trainableParameters: Int
        /// Multiply-accumulates of Conv layers at 1×3×360×480.
        public var macs: Int

        public init(name: String, summary: String, widthRange: [Double], parameters: Int, trainableParameters: Int, macs: Int) {
            self.name = name
            self.summary = summary
            self.widthRange = widthRange
            self.parameters = parameters
            self.trainableParameters = trainableParameters
            self.macs = macs
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        /// The resident student (absent with `list`).
        public var model: ModelDescription?
        /// Where it was written.
        public var path: String?
        /// The architecture, classes, width and seed it was built with.
        public var arch: String?
        public var classes: Int?
        public var width: Double?
        public var seed: Int?
        /// Trainable parameters (BatchNorm statistics excluded).
        public var trainableParameters: Int?
        /// With `list`: every architecture.
        public var architectures: [Architecture]?

        public init() {}
    }
}
