import SegProtocol
import SegTechnique

/// The Quantize plugin's parameters, validated once (`init(parameters:)`), with the reasons
/// for the defaults next to them.
struct QuantizeOptions: Sendable, Equatable {
    enum Mode: String, Sendable, CaseIterable {
        /// INT8 activations and weights, ranges from calibration: the fast path.
        case `static`
        /// INT8 weights; activations quantized per run from their own range (ConvInteger).
        case dynamic
        /// INT8 weights stored, dequantized at load: a 4× smaller file, FP32 compute.
        case weightOnly
        /// FP16 weights stored, FP32 compute: half the file, near-lossless.
        case fp16
    }

    enum Calibration: String, Sendable, CaseIterable {
        case minmax, percentile, entropy, mse
    }

    var mode: Mode = .static
    /// MSE-optimal clipping per tensor: on the demo model it lost the least mIoU of the four
    /// methods (see the issue note); minmax is hurt by rare outliers in the HardSwish layers.
    var calibration: Calibration = .mse
    /// Percentile kept by `percentile` (99.999 keeps all but 1 in 100,000 values).
    var percentile: Double = 99.999
    var perChannel = true
    /// Fold the expected output shift from weight rounding into the bias. Off by default:
    /// on the demo model it removes a shift that per-channel weights hardly have, and its
    /// estimate (FP32 input means, padding ignored) cost 0.1–0.2 mIoU points.
    var biasCorrection = false
    /// Calibration images used (at most the number the server provides).
    var calibrationCount: Int? = nil
    /// Histogram resolution for percentile/entropy/mse.
    var bins = 2048
    var excludeNodes: Set<String> = []
    var excludeOpTypes: Set<String> = []
    /// Keep the most sensitive layers in FP32 until the mIoU drop is within this fraction.
    var maxMiouDrop: Double? = nil
    enum Ranking: String, Sendable, CaseIterable { case sqnr, miou }
    /// How `maxMiouDrop` ranks layers before keeping the worst FP32.
    var rankBy: Ranking = .sqnr
    /// Images per candidate when measuring per-layer sensitivity for `maxMiouDrop`.
    var sensitivityLimit = 20
    /// Only report what would happen.
    var dryRun = false
    /// Dense-layer weights in [−64, 64] instead of [−127, 127] (depthwise keep the full range:
    /// their kernel widens to 16 bits). For AVX2 machines without VNNI: their fast u8×s8
    /// instruction (vpmaddubsw) sums pairs into s16 and saturates unless each pair's positive
    /// (and negative) parts add up to at most 128; with narrow weights it never can. Off by
    /// default: with VNNI (vpdpbusd, exact for any s8) full-range weights run as fast and lose
    /// less (measured on the demo model: 99.05% vs 98.94% pixel agreement).
    var narrowWeights = false
    /// No Q/DQ between a Conv/Gemm and the HardSwish/HardSigmoid/Sigmoid that alone reads it:
    /// the activation runs on the accumulator (the runtime fuses it into the requantizing
    /// epilogue), one rounding instead of two. ORT runs such a Conv in float.
    var fuseActivations = true
    /// Equalize channel ranges across ReLUs before calibration (`ChannelEqualization`).
    var equalize = true
    /// Keep the non-compute tail that produces the outputs (the classifier Add, the final
    /// Resize) in FP32.
    var floatHead = true
    /// Keep FP32 the Adds whose sum a LayerNormalization or Softmax reads (a transformer's
    /// residual stream and attention logits; see `QuantizationPlan.residualStream`).
    var floatResidualStream = true
    /// Calibration images on which per-layer SQNR is measured for the report.
    var sqnrSamples = 2
    enum Rounding: String, Sendable, CaseIterable { case nearest, adaround }
    /// How static INT8 weights round: to nearest, or learned per weight (`AdaRound`).
    var rounding: Rounding = .nearest
    /// AdaRound's schedule, images, rows per layer and input source.
    var adaround = AdaRound()

    /// Reads parameters already checked against `QuantizeTechnique.descriptor`'s schema (types,
    /// enums, ranges, unknown names); only the cross-field rule is checked here.
    init(_ parameters: JSONValue) throws(TechniqueError) {
        try QuantizeTechnique.descriptor.validate(parameters)
        let o = parameters.objectValue ?? [:]
        func bool(_ key: String) -> Bool? { o[key]?.boolValue }
        func integer(_ key: String) -> Int? { o[key]?.intValue.map { Int($0) } }
        func names(_ key: String) -> Set<String> { Set(o[key]?.arrayValue?.compactMap(\.stringValue) ?? []) }
        mode = o["mode"]?.stringValue.flatMap(Mode.init(rawValue:)) ?? mode
        calibration = o["calibration"]?.stringValue.flatMap(Calibration.init(rawValue:)) ?? calibration
        percentile = o["percentile"]?.doubleValue ?? percentile
        perChannel = bool("perChannel") ?? perChannel
        biasCorrection = bool("biasCorrection") ?? biasCorrection
        calibrationCount = integer("calibrationCount")
        bins = integer("bins") ?? bins
        excludeNodes = names("excludeNodes")
        excludeOpTypes = names("excludeOpTypes")
        maxMiouDrop = o["maxMiouDrop"]?.doubleValue
        sensitivityLimit = integer("sensitivityLimit") ?? sensitivityLimit
        dryRun = bool("dryRun") ?? dryRun
        sqnrSamples = integer("sqnrSamples") ?? sqnrSamples
        floatHead = bool("floatHead") ?? floatHead
        floatResidualStream = bool("floatResidualStream") ?? floatResidualStream
        narrowWeights = bool("narrowWeights") ?? narrowWeights
        fuseActivations = bool("fuseActivations") ?? fuseActivations
        equalize = bool("equalize") ?? equalize
        rankBy = o["rankBy"]?.stringValue.flatMap(Ranking.init(rawValue:)) ?? rankBy
        // AdaRound by default where it applies (static, no bias correction): on the shared LRASPP
        // it loses 0.08–0.14 pt val mIoU where round-to-nearest loses 0.28 (three seeds).
        rounding = o["rounding"]?.stringValue.flatMap(Rounding.init(rawValue:))
            ?? (mode == .static && !biasCorrection ? .adaround : .nearest)
        adaround.config.iterations = integer("adaroundIterations") ?? adaround.config.iterations
        adaround.images = integer("adaroundImages") ?? adaround.images
        adaround.rows = integer("adaroundRows") ?? adaround.rows
        adaround.inputs = o["adaroundInputs"]?.stringValue.flatMap(AdaRound.Inputs.init(rawValue:)) ?? adaround.inputs
        adaround.config.seed = integer("adaroundSeed").map { UInt64($0) } ?? adaround.config.seed
        if rounding == .adaround && mode != .static {
            throw .invalidParameter(name: "rounding", reason: "adaround applies to mode 'static' (mode is '\(mode.rawValue)')")
        }
        if rounding == .adaround && biasCorrection {
            throw .invalidParameter(name: "rounding", reason: "adaround and biasCorrection both correct the rounding error; use one")
        }
        if maxMiouDrop != nil && mode != .static {
            throw .invalidParameter(name: "maxMiouDrop", reason: "mixed precision applies to mode 'static' (mode is '\(mode.rawValue)')")
        }
    }

    /// Whether activations need calibration ranges.
    var needsCalibration: Bool { mode == .static }
}
