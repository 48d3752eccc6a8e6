/// `model/train {id, dataset | inputs+labels, ...}`: train a resident model's weights on a
/// dataset (or one fixed batch), keep the result resident beside the original (never
/// touched), and write it with its report.
public enum ModelTrainRequest: RPCRequest {
    public static let method = "model/train"

    public struct Augmentation: Codable, Sendable, Equatable {
        /// Random scale range [min, max] applied before cropping (default [1, 1]: none).
        public var scale: [Double]?
        /// Random horizontal flips (default true).
        public var flip: Bool?
        /// Colour jitter strengths, 0...1 (default 0: off), as torchvision's ColorJitter.
        public var brightness: Double?
        public var contrast: Double?
        public var saturation: Double?

        public init(scale: [Double]? = nil, flip: Bool? = nil, brightness: Double? = nil, contrast: Double? = nil, saturation: Double? = nil) {
            self.scale = scale
            self.flip = flip
            self.brightness = brightness
            self.contrast = contrast
            self.saturation = saturation
        }
    }

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// The resident model to train (a copy is trained; the original stays).
        public var id: String
        /// A labelled dataset (id or folder) and the split to train on (default `train`).
        public var dataset: String?
        public var split: String?
        /// A fixed batch instead of a dataset: `.npy` files, images N×C×H×W float32 (already
        /// normalised) and labels N×H×W integers. No augmentation, no shuffling.
        public var inputs: String?
        public var labels: String?
        /// Epochs (default 1) or, when given, the number of optimizer steps.
        public var epochs: Int?
        public var steps: Int?
        /// Images per step (default 8).
        public var batchSize: Int?
        /// Random crop [height, width] after scaling (default: whole images, which must then
        /// share one size).
        public var crop: [Int]?
        public var augmentation: Augmentation?
        /// `adamw` (default) or `sgd`.
        public var optimizer: String?
        /// Base learning rate (default 2e-3 for AdamW, 1e-2 for SGD).
        public var lr: Double?
        /// SGD momentum (default 0.9) and Nesterov (default false).
        public var momentum: Double?
        public var nesterov: Bool?
        /// `cosine` (default), `poly`, `step` or `constant`.
        public var schedule: String?
        /// Linear warm-up steps (default 0).
        public var warmupSteps: Int?
        /// `step` schedule: decay every N steps by `gamma`; `poly`: `power` (default 0.9).
        public var stepSize: Int?
        public var gamma: Double?
        public var power: Double?
        /// Weight decay (default 1e-4); norms and biases are excluded unless
        /// `decayNormsAndBiases`.
        public var weightDecay: Double?
        public var decayNormsAndBiases: Bool?
        /// `cross_entropy` (default), `ohem` or `dice`; `classWeights` per class.
        public var loss: String?
        public var classWeights: [Double]?
        public var ignoreIndex: Int?
        /// Clip the global gradient norm to this value.
        public var clipNorm: Double?
        /// Parameters to keep fixed: glob patterns over initializer and node names.
        public var freeze: [String]?
        /// Normalise with BatchNorm's running statistics and leave them unchanged.
        public var freezeBatchNorm: Bool?
        /// Evaluate on `evalSplit` (default `val`) every K epochs (default 1; 0: only at
        /// the end); the best model by val mIoU is the one written.
        public var evalEvery: Int?
        public var evalSplit: String?
        /// Seed of shuffling, augmentation and dropout (default 0).
        public var seed: Int?
        /// Intra-op threads, 1...256 (default: all cores).
        public var threads: Int?
        /// Keep a resumable checkpoint in this folder after each epoch; `resumeFrom` resumes
        /// from one.
        public var checkpointDir: String?
        public var resumeFrom: String?
        /// Write the trained model here (its report beside it, `.report.json`).
        public var outputPath: String?
        public var overwrite: Bool?
        /// Fold BatchNorm into the convolutions when writing (default false: kept).
        public var foldBatchNorm: Bool?
        /// Id of the new resident model (default `<id>-trained`).
        public var newId: String?
        /// Distillation: a teacher (a resident model id or an ONNX path) run in inference on
        /// the compiled runtime for each batch; its classes, input and preprocessing must be
        /// the student's. `distillation` weighs the losses (default: the task loss plus
        /// channel-wise distillation of the logits).
        public var teacher: String?
        public var distillation: Distillation?
        /// Also train the scales of QuantizeLinear/DequantizeLinear (learned step sizes, LSQ)
        /// in a fake-quantized model (default false: scales fixed).
        public var trainQuantizationScales: Bool?

        public init(id: String) { self.id = id }

        public func validate() throws(ResponseError) {
            try checkRange(epochs, "epochs", 1...100_000)
            try checkRange(steps, "steps", 1...100_000_000)
            try checkRange(batchSize, "batchSize", 1...4096)
            try checkRange(warmupSteps, "warmupSteps", 0...100_000_000)
            try checkRange(stepSize, "stepSize", 1...100_000_000)
            try checkRange(evalEvery, "evalEvery", 0...100_000)
            try checkRange(threads, "threads", 1...256)
            try checkRange(seed, "seed", 0...Int64(Int32.max))
            try checkRange(ignoreIndex, "ignoreIndex", 0...65_535)
            if dataset == nil && inputs == nil { throw .invalidParams("params.dataset: required (or a fixed batch: inputs and labels)") }
            if dataset != nil && inputs != nil { throw .invalidParams("params.inputs: give a dataset or a fixed batch, not both") }
            if inputs != nil && labels == nil { throw .invalidParams("params.labels: required with inputs") }
            if let crop, crop.count != 2 || crop.contains(where: { $0 < 8 || $0 > 16_384 }) {
                throw .invalidParams("params.crop: expected [height, width], each 8...16384")
            }
            try Self.oneOf(optimizer, "optimizer", ["adamw", "sgd"])
            try Self.oneOf(schedule, "schedule", ["cosine", "poly", "step", "constant"])
            try Self.oneOf(loss, "loss", ["cross_entropy", "ohem", "dice"])
            for (name, value, range) in [("lr", lr, 0.0...10.0), ("momentum", momentum, 0.0...0.999_999), ("gamma", gamma, 0.0...1.0),
                                         ("power", power, 0.0...10.0), ("weightDecay", weightDecay, 0.0...1.0), ("clipNorm", clipNorm, 1e-9...1e9)] {
                if let value, !(range.contains(value)) {
                    throw .invalidParams("params.\(name): \(value) is out of range \(range.lowerBound)...\(range.upperBound)")
                }
            }
            if let s = augmentation?.scale, s.count != 2 || !(0.1...10).contains(s[0]) || !(s[0]...10).contains(s[1]) {
                throw .invalidParams("params.augmentation.scale: expected [min, max] with 0.1 ≤ min ≤ max ≤ 10")
            }
            for (name, value) in [("brightness", augmentation?.brightness), ("contrast", augmentation?.contrast), ("saturation", augmentation?.saturation)] {
                if let value, !(0...1).contains(value) { throw .invalidParams("params.augmentation.\(name): \(value) is out of range 0...1") }
            }
            if distillation != nil && teacher == nil {
                throw .invalidParams("params.distillation: needs params.teacher (a resident model id or an ONNX path)")
            }
            if let teacher, teacher.isEmpty { throw .invalidParams("params.teacher: empty; give a resident model id or an ONNX path") }
            try distillation?.validate()
            if let w = classWeights, w.contains(where: { !($0 >= 0 && $0.isFinite) }) {
                throw .invalidParams("params.classWeights: weights must be finite and ≥ 0")
            }
        }

        static func oneOf(_ value: String?, _ field: String, _ allowed: [String]) throws(ResponseError) {
            if let value, !allowed.contains(value) {
                throw .invalidParams("params.\(field): '\(value)' is not one of \(allowed.joined(separator: ", "))")
            }
        }
    }

    /// Loss weights and temperatures of a distillation (`params.distillation`).
    public struct Distillation: Codable, Sendable, Equatable {
        /// The task loss (`params.loss` against the labels); default 1.
        public var taskWeight: Double?
        /// Hinton KD on the logits (per-pixel class softmax at `logitTemperature`, T²·KL);
        /// default weight 0, temperature 2.
        public var logitWeight: Double?
        public var logitTemperature: Double?
        /// Channel-wise distillation of the logits (Shu et al. 2021: per-channel spatial
        /// softmax at `channelWiseTemperature`, T²·KL); default weight 3, temperature 4.
        public var channelWiseWeight: Double?
        public var channelWiseTemperature: Double?
        /// Feature distillation (FitNets): the mean squared error between a 1×1 adapter of a
        /// student tensor and a teacher tensor of the same spatial size. Adapters are trained
        /// with the student and dropped from the written model.
        public var features: [FeaturePair]?
        /// How the distillation weights change over training: `constant` (default), or
        /// decaying to 0 at the last step, `linear` or `cosine`.
        public var schedule: String?
        /// Distil the logits (Hinton and channel-wise) only on labelled pixels the teacher
        /// classifies right; default false (every pixel).
        public var onlyWhereTeacherIsRight: Bool?

        public struct FeaturePair: Codable, Sendable, Equatable {
            public var student: String
            public var teacher: String
            /// Default 1.
            public var weight: Double?

            public init(student: String, teacher: String, weight: Double? = nil) {
                self.student = student
                self.teacher = teacher
                self.weight = weight
            }
        }

        public init(taskWeight: Double? = nil, logitWeight: Double? = nil, logitTemperature: Double? = nil,
                    channelWiseWeight: Double? = nil, channelWiseTemperature: Double? = nil, features: [FeaturePair]? = nil) {
            self.taskWeight = taskWeight
            self.logitWeight = logitWeight
            self.logitTemperature = logitTemperature
            self.channelWiseWeight = channelWiseWeight
            self.channelWiseTemperature = channelWiseTemperature
            self.features = features
        }

        public static let defaultChannelWiseWeight = 3.0, defaultChannelWiseTemperature = 4.0, defaultLogitTemperature = 2.0

        func validate() throws(ResponseError) {
            for (name, value) in [("taskWeight", taskWeight), ("logitWeight", logitWeight), ("channelWiseWeight", channelWiseWeight)] {
                if let value, !(0...1000).contains(value) {
                    throw .invalidParams("params.distillation.\(name): \(value) is out of range 0...1000")
                }
            }
            for (name, value) in [("logitTemperature", logitTemperature), ("channelWiseTemperature", channelWiseTemperature)] {
                if let value, !(0.05...100).contains(value) {
                    throw .invalidParams("params.distillation.\(name): \(value) is out of range 0.05...100")
                }
            }
            try Params.oneOf(schedule, "distillation.schedule", ["constant", "linear", "cosine"])
            for (i, pair) in (features ?? []).enumerated() {
                if pair.student.isEmpty || pair.teacher.isEmpty {
                    throw .invalidParams("params.distillation.features[\(i)]: student and teacher must name tensors")
                }
                if let w = pair.weight, !(0...1000).contains(w) {
                    throw .invalidParams("params.distillation.features[\(i)].weight: \(w) is out of range 0...1000")
                }
            }
            if (taskWeight ?? 1) == 0 && (logitWeight ?? 0) == 0 && (channelWiseWeight ?? Self.defaultChannelWiseWeight) == 0
                && (features ?? []).allSatisfy({ ($0.weight ?? 1) == 0 }) {
                throw .invalidParams("params.distillation: every loss weight is 0")
            }
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        /// The trained resident model.
        public var id: String
        /// Where it was written (null without `outputPath`).
        @EncodesNull public var path: String?
        /// `{steps, epochs, stepMsP50, imagesPerSecond, history, bestValMiou, durationMs, ...}`.
        public var report: JSONValue

        public init(id: String, path: String?, report: JSONValue) {
            self.id = id
            self.path = path
            self.report = report
        }
    }
}
