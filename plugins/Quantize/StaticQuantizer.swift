import Foundation
import SegGraph
import SegReference
import SegRewrite
import SegTechnique
import SegProtocol
import SegTensor

/// Static INT8 quantization of one (cleaned-up) model: calibrated once, then any number of
/// variants (some layers kept FP32, only one layer quantized) built from the same ranges.
struct StaticQuantizer {
    let model: Model
    let options: QuantizeOptions
    let types: [String: TensorType]
    let constants: [String: Tensor]
    let opset: Int
    var statistics: [String: TensorStatistics] = [:]
    var params: [String: QuantParams] = [:]
    var calibrationImages = 0
    /// Learned s8 weight codes (AdaRound) by weight name; the rest round to nearest.
    var weightCodes: [String: Tensor] = [:]

    /// Folds BatchNorm, constants and shape subgraphs first, so weights are initializers and
    /// Shape → Concat → Resize chains are constants (as the runtime will see them).
    static func prepare(_ model: Model) throws -> Model {
        try RewriteManager([EliminateIdentity(), FoldConstants(keepOpTypes: FoldConstants.quantizedWeights), FoldBatchNorm(), EliminateDeadNodes()]).run(model).0
    }

    /// Equalizes channel ranges across ReLUs (`ChannelEqualization`) using per-channel maxima
    /// over the calibration samples; the FP32 outputs do not change.
    static func equalize(_ model: Model, samples: SampleSource, count: Int, context: TechniqueContext) async throws -> (Model, JSONValue) {
        let pairs = ChannelEqualization.pairs(model.graph)
        guard !pairs.isEmpty else { return (model, ["pairs": 0]) }
        let names = pairs.map(\.tensor)
        var maxima: [String: [Float]] = [:]
        try await Calibrator.run(model, observing: names, samples: samples, count: count, context: context) { _, outputs in
            for n in names {
                guard let t = outputs[n], t.dims.count == 4 else { continue }
                let (channels, inner, outer) = Calibrator.channelLayout(t.dims)
                var m = maxima[n] ?? [Float](repeating: 0, count: channels)
                try t.withUnsafeBufferPointer(as: Float.self) { v in
                    for o in 0..<outer { for c in 0..<channels {
                        let base = (o * channels + c) * inner
                        var best = m[c]
                        for k in 0..<inner { best = Swift.max(best, v[base + k]) }
                        m[c] = best
                    } }
                }
                maxima[n] = m
            }
        }
        let (out, report) = try ChannelEqualization.apply(model, pairs: pairs, channelMax: maxima)
        return (out, ["pairs": .int(Int64(report.count)), "tensors": .array(report.map {
            ["tensor": .string($0.tensor), "into": .string($0.depthwise ? "depthwise" : "dense (square root)"),
             "channelRangeSpreadBefore": .double(Double($0.spreadBefore)), "after": .double(Double($0.spreadAfter))]
        })])
    }

    init(model: Model, options: QuantizeOptions) throws {
        self.model = model
        self.options = options
        let inference = try ShapeInference(model: model)
        types = inference.types
        var c = inference.constants
        for (name, t) in model.graph.initializers { c[name] = t }
        constants = c
        opset = model.opsetVersion(for: "") ?? 0
    }

    /// Per-axis QuantizeLinear/DequantizeLinear exist from opset 13; older models get
    /// per-tensor weight scales rather than a silent opset bump (which would change other ops).
    var perChannel: Bool { options.perChannel && opset >= 13 }

    var weightLimit: Int { options.narrowWeights ? 64 : 127 }

    func plan(extraFP32: [String: String] = [:], only: Set<String>? = nil) -> QuantizationPlan {
        QuantizationPlan(graph: model.graph, types: types, constants: constants, opset: opset,
                         excludeNodes: options.excludeNodes, excludeOpTypes: options.excludeOpTypes, extraFP32: extraFP32, only: only,
                         floatHead: options.floatHead, floatResidualStream: options.floatResidualStream,
                         fuseActivations: options.fuseActivations)
    }

    mutating func calibrate(samples: SampleSource, context: TechniqueContext, fraction: ClosedRange<Double>) async throws {
        let full = plan()
        let count = Swift.min(options.calibrationCount ?? samples.count, samples.count)
        guard count > 0 else { throw TechniqueError.notApplicable("calibration needs at least one image (\(samples.origin))") }
        let observed = full.calibratedTensors
        let bins = options.calibration == .minmax ? nil : options.bins
        statistics = try await Calibrator(model: model, observed: observed)
            .collect(samples: samples, count: count, histogramBins: bins, meansOf: options.biasCorrection ? Set(full.computeInputs) : [],
                     context: context, fraction: fraction)
        calibrationImages = count
        params = [:]
        let saturation = Self.saturationRanges(model.graph, constants: constants)
        for (name, s) in statistics {
            var r = RangeEstimator.range(s, method: options.calibration, percentile: options.percentile)
            // Values the only consumers flatten anyway need no codes: HardSwish is 0 below
            // −3, HardSigmoid is constant outside [−β/α, (1−β)/α].
            if let sat = saturation[name] { r = (Swift.max(r.low, sat.low), Swift.min(r.high, sat.high)) }
            params[name] = QuantParams(low: r.low, high: r.high)
        }
    }

    /// For tensors read only by saturating activations: the input interval outside which
    /// every consumer's output no longer changes (within half an output step for Sigmoid).
    static func saturationRanges(_ graph: Graph, constants: [String: Tensor]) -> [String: (low: Float, high: Float)] {
        let consumers = graph.consumers
        var out: [String: (low: Float, high: Float)] = [:]
        for (tensor, readers) in consumers where !readers.isEmpty && !graph.outputs.contains(where: { $0.name == tensor }) {
            var ranges: [(Float, Float)] = []
            for i in readers {
                let n = graph.nodes[i]
                guard n.inputs.first == tensor, !n.inputs.dropFirst().contains(tensor) else { break }
                switch n.opType {
                case "HardSwish": ranges.append((-3, .infinity))
                case "HardSigmoid":
                    let alpha = n[attribute: "alpha"]?.floatValue ?? 0.2, beta = n[attribute: "beta"]?.floatValue ?? 0.5
                    if alpha > 0 { ranges.append((-beta / alpha, (1 - beta) / alpha)) }
                case "Sigmoid": ranges.append((-7, 7))
                case "Relu": ranges.append((0, .infinity))
                case "Clip":
                    let hiInput = n.inputs.count > 2 && !n.inputs[2].isEmpty ? n.inputs[2] : nil
                    let hi: Float? = hiInput.map { (try? constants[$0]?.converted(to: .f32).scalars(as: Float.self))??.first } ??
                        (n.inputs.count > 1 ? .infinity : n[attribute: "max"]?.floatValue ?? .infinity)
                    if let lo = QuantizationPlan.clipMinimum(n, constants), let hi { ranges.append((lo, hi)) }
                default: break
                }
            }
            // Every reader must saturate; with several, keep what any of them distinguishes.
            guard ranges.count == readers.count, let low = ranges.map(\.0).min(), let high = ranges.map(\.1).max(),
                  low.isFinite || high.isFinite else { continue }
            out[tensor] = (low, high)
        }
        return out
    }

    func build(_ plan: QuantizationPlan) throws -> QDQWriter.Written {
        var writer = QDQWriter(perChannel: perChannel, weightLimit: weightLimit)
        writer.weightCodes = weightCodes
        if options.biasCorrection {
            writer.inputMeans = statistics.compactMapValues { $0.channelMeans.isEmpty ? nil : $0.channelMeans }
        }
        return try writer.write(model, plan: plan, params: params)
    }

    /// Output SQNR (dB) per quantized tensor: FP32 model vs the quantized one on the first
    /// `count` samples. Error accumulates along the net, so this shows where it grows.
    func sqnr(of written: QDQWriter.Written, samples: SampleSource, count: Int, context: TechniqueContext) async throws -> [String: Double] {
        guard count > 0 else { return [:] }
        let names = Array(written.dequantized.keys).sorted()
        var reference: [Int: [String: Tensor]] = [:]
        try await Calibrator.run(model, observing: names, samples: samples, count: count, context: context) { i, out in
            reference[i] = out
        }
        var signal = [String: Double](), noise = [String: Double]()
        let dqNames = names.compactMap { written.dequantized[$0] }
        try await Calibrator.run(written.model, observing: dqNames, samples: samples, count: count, context: context) { i, out in
            for n in names {
                guard let dq = written.dequantized[n], let a = reference[i]?[n], let b = out[dq], a.elementCount == b.elementCount,
                      let x = try? a.scalars(as: Float.self), let y = try? b.scalars(as: Float.self) else { continue }
                var s = 0.0, e = 0.0
                for k in 0..<x.count { let d = Double(x[k] - y[k]); s += Double(x[k]) * Double(x[k]); e += d * d }
                signal[n, default: 0] += s
                noise[n, default: 0] += e
            }
            reference[i] = nil
        }
        var out: [String: Double] = [:]
        for (n, s) in signal { out[n] = (noise[n] ?? 0) > 0 ? 10 * log10(s / (noise[n] ?? 1)) : 200 }
        return out
    }
}
