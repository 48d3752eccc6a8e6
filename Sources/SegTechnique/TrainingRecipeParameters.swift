import SegProtocol

/// The training parameters techniques that train share (`finetune`, `distill`): one schema
/// and one reading into a `model/train` recipe, so the same name means the same thing in
/// every technique and on `model/train`. Each technique picks its own defaults.
public struct TrainingRecipeParameters: Sendable {
    /// Defaults a technique gives where the request is silent.
    public struct Defaults: Sendable {
        public var epochs: Int
        public var lr: Double
        public var freezeBatchNorm: Bool
        public var crop: [Int]?
        public var scale: [Double]?
        public var weightDecay: Double

        public init(epochs: Int, lr: Double, freezeBatchNorm: Bool, crop: [Int]? = nil, scale: [Double]? = nil, weightDecay: Double = 1e-4) {
            self.epochs = epochs
            self.lr = lr
            self.freezeBatchNorm = freezeBatchNorm
            self.crop = crop
            self.scale = scale
            self.weightDecay = weightDecay
        }
    }

    /// JSON Schema `properties` of the shared parameters, with `defaults` stated.
    public static func properties(_ defaults: Defaults) -> [String: JSONValue] {
        var p: [String: JSONValue] = [
            "epochs": ["type": "integer", "minimum": 1, "maximum": 100000, "default": .int(Int64(defaults.epochs)), "description": "Epochs over the training split."],
            "steps": ["type": "integer", "minimum": 1, "description": "Optimizer steps instead of epochs."],
            "lr": ["type": "number", "exclusiveMinimum": 0, "maximum": 10, "default": .double(defaults.lr), "description": "Base learning rate."],
            "optimizer": ["enum": ["adamw", "sgd"], "default": "adamw"],
            "schedule": ["enum": ["cosine", "poly", "step", "constant"], "default": "cosine"],
            "weightDecay": ["type": "number", "minimum": 0, "maximum": 1, "default": .double(defaults.weightDecay)],
            "batchSize": ["type": "integer", "minimum": 1, "maximum": 4096, "default": 8],
            "crop": ["type": "array", "items": ["type": "integer", "minimum": 8, "maximum": 16384], "minItems": 2, "maxItems": 2,
                     "description": "Random crop [height, width] (default: whole images)."],
            "scale": ["type": "array", "items": ["type": "number", "minimum": 0.1, "maximum": 10], "minItems": 2, "maxItems": 2,
                      "description": "Random scale range [min, max] before cropping (default [1, 1])."],
            "flip": ["type": "boolean", "default": true, "description": "Random horizontal flips."],
            "freezeBatchNorm": ["type": "boolean", "default": .bool(defaults.freezeBatchNorm), "description": "Normalise with the running statistics and keep them."],
            "freeze": ["type": "array", "items": ["type": "string"], "description": "Glob patterns of parameters or nodes to keep fixed."],
            "evalSplit": ["type": "string", "default": "val", "description": "Split scored after each epoch to pick the best one."],
            "trainSplit": ["type": "string", "default": "train"],
            "seed": ["type": "integer", "minimum": 0, "default": 0],
            "checkpointDir": ["type": "string", "description": "Keep a checkpoint here after each epoch; a later request with the same folder resumes from it."],
            "teacher": ["type": "string", "description": "Distil from this teacher: a resident model id or an ONNX path (same classes, input and normalisation)."],
            "kdTask": ["type": "number", "minimum": 0, "maximum": 1000, "default": 1, "description": "Weight of the task loss when distilling."],
            "kdChannelWise": ["type": "number", "minimum": 0, "maximum": 1000, "default": 3, "description": "Weight of channel-wise distillation of the logits (Shu et al. 2021)."],
            "kdChannelTemperature": ["type": "number", "minimum": 0.05, "maximum": 100, "default": 4],
            "kdLogits": ["type": "number", "minimum": 0, "maximum": 1000, "default": 0, "description": "Weight of Hinton KD on the logits."],
            "kdLogitTemperature": ["type": "number", "minimum": 0.05, "maximum": 100, "default": 2],
            "kdSchedule": ["enum": ["constant", "linear", "cosine"], "default": "constant", "description": "Distillation weights constant, or decaying to 0 by the last step."],
            "kdTeacherRight": ["type": "boolean", "default": false, "description": "Distil the logits only on labelled pixels the teacher classifies right."],
            "kdFeatures": ["type": "array", "description": "Feature pairs distilled through learned 1×1 adapters (FitNets).",
                           "items": ["type": "object", "additionalProperties": false, "required": ["student", "teacher"],
                                     "properties": ["student": ["type": "string"], "teacher": ["type": "string"],
                                                    "weight": ["type": "number", "minimum": 0, "maximum": 1000]]]],
        ]
        if let crop = defaults.crop {
            p["crop"] = ["type": "array", "items": ["type": "integer", "minimum": 8, "maximum": 16384], "minItems": 2, "maxItems": 2,
                         "default": .array(crop.map { .int(Int64($0)) }), "description": "Random crop [height, width]."]
        }
        if let scale = defaults.scale {
            p["scale"] = ["type": "array", "items": ["type": "number", "minimum": 0.1, "maximum": 10], "minItems": 2, "maxItems": 2,
                          "default": .array(scale.map { .double($0) }), "description": "Random scale range [min, max] before cropping."]
        }
        return p
    }

    /// The recipe for validated `parameters` (checked against `properties`).
    public static func recipe(_ parameters: JSONValue, defaults: Defaults) throws(TechniqueError) -> ModelTrainRequest.Params {
        let o = parameters.objectValue ?? [:]
        var r = ModelTrainRequest.Params(id: "")
        r.epochs = o["epochs"]?.intValue.map(Int.init) ?? (o["steps"] == nil ? defaults.epochs : nil)
        r.steps = o["steps"]?.intValue.map(Int.init)
        r.lr = o["lr"]?.doubleValue ?? defaults.lr
        r.optimizer = o["optimizer"]?.stringValue
        r.schedule = o["schedule"]?.stringValue
        r.weightDecay = o["weightDecay"]?.doubleValue ?? defaults.weightDecay
        r.batchSize = o["batchSize"]?.intValue.map(Int.init)
        r.crop = o["crop"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) } ?? defaults.crop
        let scale = o["scale"]?.arrayValue?.compactMap(\.doubleValue) ?? defaults.scale
        if scale != nil || o["flip"] != nil {
            r.augmentation = .init(scale: scale, flip: o["flip"]?.boolValue)
        }
        r.freezeBatchNorm = o["freezeBatchNorm"]?.boolValue ?? defaults.freezeBatchNorm
        r.freeze = o["freeze"]?.arrayValue?.compactMap(\.stringValue)
        r.evalSplit = o["evalSplit"]?.stringValue
        r.split = o["trainSplit"]?.stringValue
        r.seed = o["seed"]?.intValue.map(Int.init)
        r.checkpointDir = o["checkpointDir"]?.stringValue
        if let scale, scale[0] > scale[1] {
            throw .invalidParameter(name: "scale", reason: "min \(scale[0]) is larger than max \(scale[1])")
        }
        let kdKeys = ["kdTask", "kdChannelWise", "kdChannelTemperature", "kdLogits", "kdLogitTemperature", "kdFeatures", "kdSchedule", "kdTeacherRight"]
        if let teacher = o["teacher"]?.stringValue {
            r.teacher = teacher
            var d = ModelTrainRequest.Distillation(
                taskWeight: o["kdTask"]?.doubleValue, logitWeight: o["kdLogits"]?.doubleValue, logitTemperature: o["kdLogitTemperature"]?.doubleValue,
                channelWiseWeight: o["kdChannelWise"]?.doubleValue, channelWiseTemperature: o["kdChannelTemperature"]?.doubleValue)
            d.schedule = o["kdSchedule"]?.stringValue
            d.onlyWhereTeacherIsRight = o["kdTeacherRight"]?.boolValue
            d.features = o["kdFeatures"]?.arrayValue?.compactMap { item in
                guard let s = item["student"]?.stringValue, let t = item["teacher"]?.stringValue else { return nil }
                return .init(student: s, teacher: t, weight: item["weight"]?.doubleValue)
            }
            if d != ModelTrainRequest.Distillation() { r.distillation = d }
        } else if let stray = kdKeys.first(where: { o[$0] != nil }) {
            throw .invalidParameter(name: stray, reason: "distillation weights need a teacher (the teacher parameter)")
        }
        return r
    }
}
