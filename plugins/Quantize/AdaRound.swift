import Foundation
import SegKernels
import SegProtocol
import SegTechnique
import SegTensor

/// AdaRound for static INT8 (Nagel et al. 2020): after calibration, layer by layer in graph
/// order, learns whether each s8 weight code rounds down or up so the layer's output on
/// calibration images moves least (`AdaRoundLayer`). Scales, zero points and the QDQ layout
/// stay those of round-to-nearest; only the int8 weight values change.
///
/// Reconstruction is on sampled output positions: for each layer, `rows` positions spread
/// over the first `images` calibration images, each one im2col patch. The target is the FP32
/// model's output there (W·x_fp). The input is either the same FP32 activation, or — the
/// paper's "asymmetric" reconstruction, and the default — the activation as the already
/// quantized (and already AdaRounded) layers before it produce it, so each layer also absorbs
/// the error accumulated upstream.
struct AdaRound: Sendable, Equatable {
    enum Inputs: String, Sendable, CaseIterable { case quantized, float }

    var config = AdaRoundConfig()
    var images = 32
    var rows = 2048
    var inputs = Inputs.quantized

    struct Result {
        /// s8 codes by weight initializer name (`StaticQuantizer.weightCodes`).
        var codes: [String: Tensor]
        var report: JSONValue
    }

    func run(_ quantizer: StaticQuantizer, samples: SampleSource, context: TechniqueContext,
             fraction: ClosedRange<Double>) async throws -> Result {
        let started = Date()
        var q = quantizer
        let plan = q.plan()
        let found = AdaRoundSite.sites(plan, weightLimit: q.weightLimit)
        let sites = found.sites
        var skipped = found.skipped
        let count = Swift.min(images, samples.count)
        // Spread over the calibration set: consecutive images of a video-frame dataset are alike.
        let all = samples
        let chosen = (0..<count).map { $0 * all.count / Swift.max(count, 1) }
        let samples = SampleSource(count: count, origin: "\(count) of \(all.origin)") { try await all.sample(chosen[$0]) }
        guard count > 0, !sites.isEmpty else {
            return Result(codes: [:], report: ["layers": [], "note": .string(sites.isEmpty ? "no Conv/Gemm/MatMul layer to round" : "no calibration images")])
        }
        let perImage = Swift.max(1, (rows + count - 1) / count)
        let kernels = context.threads == 1 ? KernelContext(pool: ThreadPool(threadCount: 1)) : .shared
        func seed(_ site: Int, _ image: Int) -> UInt64 { config.seed &+ UInt64(site) &* 1_000_003 &+ UInt64(image) &* 7919 }
        let span = fraction.upperBound - fraction.lowerBound

        // FP32 targets W·x_fp at each site's sampled positions, for every site in one pass.
        var layers: [AdaRoundLayer] = []
        for s in sites {
            let (_, scales) = try QDQWriter.quantizeWeight(s.weight, axis: q.perChannel ? s.axis : nil, limit: s.limit)
            layers.append(AdaRoundLayer(groups: s.groups, outPerGroup: s.outPerGroup, depth: s.depth, weights: try s.matrix(), scales: scales, limit: s.limit))
        }
        var targets = sites.map { [[Float]](repeating: [], count: $0.groups) }
        var distinctRows = [Int](repeating: 0, count: sites.count)
        let observed = Array(Set(sites.map(\.input))).sorted()
        context.progress(fraction.lowerBound, "AdaRound: FP32 targets on \(count) images")
        try await Calibrator.run(q.model, observing: observed, samples: samples, count: count, context: context) { image, out in
            for (k, s) in sites.enumerated() {
                guard let t = out[s.input] else { throw TechniqueError.failed("AdaRound: the runner did not return '\(s.input)' (input of '\(s.label)')") }
                let positions = try s.samplePositions(t.dims, count: perImage, seed: seed(k, image))
                distinctRows[k] += Swift.min(positions.count, try s.positions(t.dims))
                var x = [[Float]](repeating: [], count: s.groups)
                try s.gather(t, positions: positions, into: &x)
                let y = try layers[k].apply(layers[k].weights, to: x.flatMap { $0 }, rows: positions.count, context: kernels)
                let block = positions.count * s.outPerGroup
                for g in 0..<s.groups { targets[k][g].append(contentsOf: y[(g * block)..<((g + 1) * block)]) }
            }
        }

        var codes: [String: Tensor] = [:]
        var entries: [JSONValue] = []
        var fallbacks = 0
        for (k, s) in sites.enumerated() {
            try context.checkCancellation()
            // Fewer distinct input rows than weights per output (a squeeze-excite conv reads
            // one pooled vector per image): any rounding fits them, nothing says it generalises.
            if distinctRows[k] < s.depth {
                skipped.append((s.label, "\(distinctRows[k]) distinct input rows for \(s.depth) weights per output: underdetermined, rounded to nearest"))
                continue
            }
            let layerStart = Date()
            let at = fraction.lowerBound + span * (0.05 + 0.95 * Double(k) / Double(sites.count))
            context.progress(at, "AdaRound layer \(k + 1)/\(sites.count): \(s.label)")
            // The input as the layers before produce it: the current QDQ model (earlier layers
            // already rounded), read at the dequantized value the INT8 layer consumes.
            var source = q.model, name = s.input
            if inputs == .quantized {
                q.weightCodes = codes
                let written = try q.build(plan)
                if let dq = written.dequantized[s.input] { source = written.model; name = dq } else { fallbacks += 1 }
            }
            var x = [[Float]](repeating: [], count: s.groups)
            var total = 0
            try await Calibrator.run(source, observing: [name], samples: samples, count: count, context: context) { image, out in
                guard let t = out[name] else { throw TechniqueError.failed("AdaRound: the runner did not return '\(name)' (input of '\(s.label)')") }
                let positions = try s.samplePositions(t.dims, count: perImage, seed: seed(k, image))
                try s.gather(t, positions: positions, into: &x)
                total += positions.count
            }
            var layerConfig = config
            layerConfig.seed = seed(k, count)
            let outcome = try layers[k].optimize(inputs: x.flatMap { $0 }, targets: targets[k].flatMap { $0 }, rows: total, config: layerConfig,
                                                 context: kernels, checkpoint: { try context.checkCancellation() })
            targets[k] = []
            codes[s.weightName] = try s.codesTensor(outcome.codes)
            entries.append([
                "node": .string(s.label), "weights": .int(Int64(outcome.codes.count)), "groups": .int(Int64(s.groups)),
                "nearestMSE": .double(outcome.nearestMSE), "adaroundMSE": .double(outcome.adaroundMSE),
                "mseRatio": .double(outcome.nearestMSE > 0 ? outcome.adaroundMSE / outcome.nearestMSE : 1),
                "changedFraction": .double(outcome.changed), "undecidedBeforeHardening": .double(outcome.undecided),
                "seconds": .double((Date().timeIntervalSince(layerStart) * 100).rounded() / 100),
            ])
        }
        var report: [String: JSONValue] = [
            "inputs": .string(inputs.rawValue), "iterations": .int(Int64(config.iterations)), "batch": .int(Int64(config.batch)),
            "images": .int(Int64(count)), "rowsPerLayer": .int(Int64(perImage * count)), "seed": .int(Int64(bitPattern: config.seed)),
            "seconds": .double((Date().timeIntervalSince(started) * 10).rounded() / 10),
            "layers": .array(entries),
            "skipped": .array(skipped.map { ["node": .string($0.0), "reason": .string($0.1)] }),
        ]
        if fallbacks > 0 { report["floatInputFallbacks"] = .int(Int64(fallbacks)) }
        return Result(codes: codes, report: .object(report))
    }
}
