import Foundation
import SegGraph
import SegReference
import SegRewrite
import SegTechnique
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

    /// Folds BatchNorm, constants and shape subgraphs first, so weights are initializers and
    /// Shape → Concat → Resize chains are constants (as the runtime will see them).
    static func prepare(_ model: Model) throws -> Model {
        try RewriteManager([EliminateIdentity(), FoldConstants(), FoldBatchNorm(), EliminateDeadNodes()]).run(model).0
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

    func plan(extraFP32: [String: String] = [:], only: Set<String>? = nil) -> QuantizationPlan {
        QuantizationPlan(graph: model.graph, types: types, constants: constants, opset: opset,
                         excludeNodes: options.excludeNodes, excludeOpTypes: options.excludeOpTypes, extraFP32: extraFP32, only: only,
                         floatHead: options.floatHead)
    }

    mutating func calibrate(samples: SampleSource, context: TechniqueContext, fraction: ClosedRange<Double>) async throws {
        let full = plan()
        let count = Swift.min(options.calibrationCount ?? samples.count, samples.count)
        guard count > 0 else { throw TechniqueError.notApplicable("calibration needs at least one image (\(samples.origin))") }
        let observed = full.calibratedTensors
        let bins = options.calibration == .minmax ? nil : options.bins
        statistics = try await Calibrator(model: model, observed: observed, threads: context.threads)
            .collect(samples: samples, count: count, histogramBins: bins, meansOf: options.biasCorrection ? Set(full.computeInputs) : [],
                     context: context, fraction: fraction)
        calibrationImages = count
        params = [:]
        for (name, s) in statistics {
            let r = RangeEstimator.range(s, method: options.calibration, percentile: options.percentile)
            params[name] = QuantParams(low: r.low, high: r.high)
        }
    }

    func build(_ plan: QuantizationPlan) throws -> QDQWriter.Written {
        var writer = QDQWriter(perChannel: perChannel)
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
        try await Calibrator.run(model, observing: names, samples: samples, count: count, threads: context.threads, context: context) { i, out in
            reference[i] = out
        }
        var signal = [String: Double](), noise = [String: Double]()
        let dqNames = names.compactMap { written.dequantized[$0] }
        try await Calibrator.run(written.model, observing: dqNames, samples: samples, count: count, threads: context.threads, context: context) { i, out in
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
