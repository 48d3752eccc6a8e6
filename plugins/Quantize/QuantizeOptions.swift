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
    /// Calibration images on which per-layer SQNR is measured for the report.
    var sqnrSamples = 2

    static let known: [String] = ["mode", "calibration", "percentile", "perChannel", "biasCorrection", "calibrationCount", "bins",
                                  "excludeNodes", "excludeOpTypes", "maxMiouDrop", "sensitivityLimit", "dryRun", "sqnrSamples", "floatHead", "narrowWeights", "fuseActivations", "equalize", "rankBy"]

    init(_ parameters: JSONValue) throws(TechniqueError) {
        guard case .object(let o) = parameters else { throw .invalidParameter(name: "(parameters)", reason: "expected an object") }
        if let bad = o.keys.sorted().first(where: { !Self.known.contains($0) }) {
            throw .invalidParameter(name: bad, reason: "unknown parameter (known: \(Self.known.joined(separator: ", ")))")
        }
        func string(_ key: String) throws(TechniqueError) -> String? {
            guard let v = o[key] else { return nil }
            guard case .string(let s) = v else { throw .invalidParameter(name: key, reason: "expected a string, got \(v.typeName)") }
            return s
        }
        func bool(_ key: String) throws(TechniqueError) -> Bool? {
            guard let v = o[key] else { return nil }
            guard case .bool(let b) = v else { throw .invalidParameter(name: key, reason: "expected true or false, got \(v.typeName)") }
            return b
        }
        func number(_ key: String, _ range: ClosedRange<Double>) throws(TechniqueError) -> Double? {
            guard let v = o[key] else { return nil }
            guard let d = v.doubleValue, d.isFinite else { throw .invalidParameter(name: key, reason: "expected a number, got \(v.typeName)") }
            guard range.contains(d) else { throw .invalidParameter(name: key, reason: "\(d) is outside \(range.lowerBound)...\(range.upperBound)") }
            return d
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) throws(TechniqueError) -> Int? {
            guard let d = try number(key, Double(range.lowerBound)...Double(range.upperBound)) else { return nil }
            guard d == d.rounded() else { throw .invalidParameter(name: key, reason: "expected an integer, got \(d)") }
            return Int(d)
        }
        func names(_ key: String) throws(TechniqueError) -> Set<String> {
            guard let v = o[key] else { return [] }
            guard case .array(let a) = v else { throw .invalidParameter(name: key, reason: "expected an array of strings") }
            var out: Set<String> = []
            for item in a {
                guard case .string(let s) = item else { throw .invalidParameter(name: key, reason: "expected an array of strings, found \(item.typeName)") }
                out.insert(s)
            }
            return out
        }
        if let m = try string("mode") {
            guard let mode = Mode(rawValue: m) else {
                throw .invalidParameter(name: "mode", reason: "'\(m)' is not one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.mode = mode
        }
        if let c = try string("calibration") {
            guard let cal = Calibration(rawValue: c) else {
                throw .invalidParameter(name: "calibration", reason: "'\(c)' is not one of \(Calibration.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            calibration = cal
        }
        percentile = try number("percentile", 50...100) ?? percentile
        perChannel = try bool("perChannel") ?? perChannel
        biasCorrection = try bool("biasCorrection") ?? biasCorrection
        calibrationCount = try integer("calibrationCount", 1...100_000)
        bins = try integer("bins", 128...65536) ?? bins
        excludeNodes = try names("excludeNodes")
        excludeOpTypes = try names("excludeOpTypes")
        maxMiouDrop = try number("maxMiouDrop", 0...1)
        sensitivityLimit = try integer("sensitivityLimit", 1...100_000) ?? sensitivityLimit
        dryRun = try bool("dryRun") ?? dryRun
        sqnrSamples = try integer("sqnrSamples", 0...1000) ?? sqnrSamples
        floatHead = try bool("floatHead") ?? floatHead
        narrowWeights = try bool("narrowWeights") ?? narrowWeights
        fuseActivations = try bool("fuseActivations") ?? fuseActivations
        equalize = try bool("equalize") ?? equalize
        if let r = try string("rankBy") {
            guard let ranking = Ranking(rawValue: r) else { throw .invalidParameter(name: "rankBy", reason: "'\(r)' is not one of sqnr, miou") }
            rankBy = ranking
        }
        if maxMiouDrop != nil && mode != .static {
            throw .invalidParameter(name: "maxMiouDrop", reason: "mixed precision applies to mode 'static' (mode is '\(mode.rawValue)')")
        }
    }

    /// Whether activations need calibration ranges.
    var needsCalibration: Bool { mode == .static }
}
