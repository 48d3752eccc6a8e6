import Foundation
import SegKernels
import SegTechnique
import SegTensor

/// AdaRound's schedule and loss weights (Nagel et al. 2020, "Up or Down? Adaptive Rounding
/// for Post-Training Quantization").
struct AdaRoundConfig: Sendable, Equatable {
    /// Adam steps per layer. The paper runs 10k; on this CPU 1k gets most of the gain (see the
    /// issue note) at a tenth of the time.
    var iterations = 1000
    /// Rows (sampled output positions) per step.
    var batch = 256
    /// 1e-2 rather than the paper's 1e-3: ten times fewer steps.
    var learningRate: Float = 1e-2
    /// λ of the rounding regulariser λ·Σ(1 − |2h − 1|^β), against a reconstruction loss summed
    /// over output channels and averaged over rows (AIMET's normalisation, which λ = 0.01 is
    /// tuned for).
    var regularization: Float = 0.01
    /// Fraction of the steps without the regulariser, so the rounding first follows the
    /// reconstruction loss alone.
    var warmup = 0.2
    /// β decays from `betaStart` to `betaEnd` over the steps after warm-up (cosine): a high β
    /// only pushes h near 0.5 apart, a low β pushes every h to 0 or 1.
    var betaStart: Float = 20
    var betaEnd: Float = 2
    var seed: UInt64 = 0
}

/// What one layer's optimisation gave.
struct AdaRoundOutcome: Sendable {
    /// s8 codes, `[outputs][depth]` like `AdaRoundLayer.weights`.
    var codes: [Int8]
    /// Output MSE on the calibration rows with round-to-nearest codes and with the learned ones.
    var nearestMSE: Double
    var adaroundMSE: Double
    /// Fraction of weights whose code differs from round-to-nearest.
    var changed: Double
    /// Fraction of h(V) not yet within 0.01 of 0 or 1 before hardening (how far the regulariser got).
    var undecided: Double
}

/// One layer's rounding problem: learn, per weight, whether its code rounds down or up so the
/// layer's output on calibration inputs moves least. The layer is `groups` independent
/// products `Y_g = X_g · W̃_gᵀ` (a grouped or depthwise conv is several; a dense conv or Gemm
/// is one) with W̃ = s·clip(⌊W/s⌋ + h(V), −limit, limit) and the rectified sigmoid
/// h(V) = clip(σ(V)(ζ − γ) + γ, 0, 1), ζ = 1.1, γ = −0.1. After the last step the rounding is
/// hard: h ≥ 0.5 rounds up.
struct AdaRoundLayer: Sendable {
    var groups: Int
    var outPerGroup: Int
    var depth: Int
    /// Float weights, `[groups·outPerGroup][depth]`; output channel o belongs to group o / outPerGroup.
    var weights: [Float]
    /// Scale per output channel (one entry: per tensor).
    var scales: [Float]
    var limit: Int

    static let zeta: Float = 1.1
    static let gamma: Float = -0.1

    var outputs: Int { groups * outPerGroup }
    func scale(_ o: Int) -> Float { scales.count == 1 ? scales[0] : scales[o] }

    /// Round-to-nearest-even codes, as `QDQWriter.quantizeWeight` writes them.
    var nearestCodes: [Int8] {
        let lim = Float(limit)
        return (0..<weights.count).map { i in
            Int8(Swift.max(-lim, Swift.min(lim, (weights[i] / scale(i / depth)).rounded(.toNearestOrEven))))
        }
    }

    /// `Y_g = X_g · Wᵀ_g` for every group: `inputs` `[groups][rows][depth]` → `[groups][rows][outPerGroup]`.
    func apply(_ w: [Float], to inputs: [Float], rows: Int, context: KernelContext) throws -> [Float] {
        var out = [Float](repeating: 0, count: groups * rows * outPerGroup)
        guard !out.isEmpty, depth > 0 else { return out }
        try inputs.withUnsafeBufferPointer { x in
            try w.withUnsafeBufferPointer { wp in
                try out.withUnsafeMutableBufferPointer { y in
                    for g in 0..<groups {
                        try Self.forward(x: x.baseAddress! + g * rows * depth, rows: rows, w: wp.baseAddress! + g * outPerGroup * depth,
                                         out: outPerGroup, depth: depth, y: y.baseAddress! + g * rows * outPerGroup, context: context)
                    }
                }
            }
        }
        return out
    }

    /// Mean squared output error of dequantized codes against `targets` over all rows.
    func mse(codes: [Int8], inputs: [Float], targets: [Float], rows: Int, context: KernelContext) throws -> Double {
        let w = (0..<codes.count).map { Float(codes[$0]) * scale($0 / depth) }
        let y = try apply(w, to: inputs, rows: rows, context: context)
        var e = 0.0
        for i in 0..<y.count { let d = Double(y[i] - targets[i]); e += d * d }
        return y.isEmpty ? 0 : e / Double(y.count)
    }

    /// Learns the rounding on `inputs` `[groups][rows][depth]` against `targets`
    /// `[groups][rows][outPerGroup]`. `checkpoint` runs every few steps (cancellation).
    func optimize(inputs: [Float], targets: [Float], rows: Int, config: AdaRoundConfig, context: KernelContext,
                  checkpoint: () throws -> Void = {}) throws -> AdaRoundOutcome {
        guard inputs.count == groups * rows * depth, targets.count == groups * rows * outPerGroup, weights.count == outputs * depth else {
            throw TechniqueError.failed("AdaRound: \(inputs.count) inputs and \(targets.count) targets do not fit \(groups) group(s) of \(rows) rows × \(depth) → \(outPerGroup)")
        }
        let n = weights.count, lim = Float(limit)
        guard rows > 0, n > 0, depth > 0 else {
            return AdaRoundOutcome(codes: nearestCodes, nearestMSE: 0, adaroundMSE: 0, changed: 0, undecided: 0)
        }
        let zeta = Self.zeta, gamma = Self.gamma
        var floors = [Float](repeating: 0, count: n)
        var v = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let x = weights[i] / scale(i / depth)
            floors[i] = x.rounded(.down)
            // h(V) starts at the fractional part: σ(V) = (frac − γ)/(ζ − γ), always in (0, 1).
            let p = (x - floors[i] - gamma) / (zeta - gamma)
            v[i] = log(p / (1 - p))
        }
        let nearest = nearestCodes
        let nearestMSE = try mse(codes: nearest, inputs: inputs, targets: targets, rows: rows, context: context)

        let batch = Swift.min(config.batch, rows)
        var m = [Float](repeating: 0, count: n), s2 = [Float](repeating: 0, count: n)
        var wq = [Float](repeating: 0, count: n), grad = [Float](repeating: 0, count: n), sig = [Float](repeating: 0, count: n)
        var y = [Float](repeating: 0, count: batch * outPerGroup)
        var rng = SeededGenerator(seed: config.seed)
        let warm = Int((Double(config.iterations) * config.warmup).rounded())
        let beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
        var p1: Float = 1, p2: Float = 1
        for step in 0..<config.iterations {
            if step % 16 == 0 { try checkpoint() }
            let start = rng.int(rows - batch + 1)
            for i in 0..<n {
                sig[i] = Self.sigmoid(v[i])
                let h = Swift.min(1, Swift.max(0, sig[i] * (zeta - gamma) + gamma))
                wq[i] = scale(i / depth) * Swift.min(lim, Swift.max(-lim, floors[i] + h))
            }
            // dL/dW̃ = Gᵀ·X with G = 2(Y − T)/batch (loss summed over channels, mean over rows).
            try inputs.withUnsafeBufferPointer { x in
                try targets.withUnsafeBufferPointer { t in
                    try wq.withUnsafeBufferPointer { w in
                        try y.withUnsafeMutableBufferPointer { yb in
                            try grad.withUnsafeMutableBufferPointer { gb in
                                for g in 0..<groups {
                                    let xg = x.baseAddress! + (g * rows + start) * depth
                                    let tg = t.baseAddress! + (g * rows + start) * outPerGroup
                                    let wg = w.baseAddress! + g * outPerGroup * depth
                                    try Self.forward(x: xg, rows: batch, w: wg, out: outPerGroup, depth: depth, y: yb.baseAddress!, context: context)
                                    let k = 2 / Float(batch)
                                    for i in 0..<(batch * outPerGroup) { yb[i] = (yb[i] - tg[i]) * k }
                                    try Self.weightGradient(g: yb.baseAddress!, x: xg, rows: batch, out: outPerGroup, depth: depth,
                                                            into: gb.baseAddress! + g * outPerGroup * depth, context: context)
                                }
                            }
                        }
                    }
                }
            }
            let regularized = step >= warm
            var beta = config.betaStart
            if regularized {
                let r = Float(step - warm) / Float(Swift.max(1, config.iterations - warm))
                beta = config.betaEnd + 0.5 * (config.betaStart - config.betaEnd) * (1 + cos(r * .pi))
            }
            p1 *= beta1
            p2 *= beta2
            let lr = config.learningRate * (1 - p2).squareRoot() / (1 - p1)
            for i in 0..<n {
                let sg = sig[i]
                let hRaw = sg * (zeta - gamma) + gamma
                guard hRaw > 0 && hRaw < 1 else { continue }
                let code = floors[i] + hRaw
                var dh: Float = code > -lim && code < lim ? grad[i] * scale(i / depth) : 0
                if regularized {
                    let t = 2 * hRaw - 1
                    let a = abs(t)
                    if a > 0 { dh -= config.regularization * beta * pow(a, beta - 1) * (t > 0 ? 2 : -2) }
                }
                let dv = dh * (zeta - gamma) * sg * (1 - sg)
                m[i] = beta1 * m[i] + (1 - beta1) * dv
                s2[i] = beta2 * s2[i] + (1 - beta2) * dv * dv
                v[i] -= lr * m[i] / (s2[i].squareRoot() + eps)
            }
        }

        var codes = [Int8](repeating: 0, count: n)
        var changed = 0, undecided = 0
        for i in 0..<n {
            let h = Swift.min(1, Swift.max(0, Self.sigmoid(v[i]) * (zeta - gamma) + gamma))
            if h > 0.01 && h < 0.99 { undecided += 1 }
            codes[i] = Int8(Swift.min(lim, Swift.max(-lim, floors[i] + (h >= 0.5 ? 1 : 0))))
            if codes[i] != nearest[i] { changed += 1 }
        }
        let adaMSE = try mse(codes: codes, inputs: inputs, targets: targets, rows: rows, context: context)
        return AdaRoundOutcome(codes: codes, nearestMSE: nearestMSE, adaroundMSE: adaMSE,
                               changed: n > 0 ? Double(changed) / Double(n) : 0, undecided: n > 0 ? Double(undecided) / Double(n) : 0)
    }

    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// y[rows×out] = x[rows×depth] · w[out×depth]ᵀ. Single-output groups (depthwise) are dot
    /// products: a GEMM call per channel would cost more than the arithmetic.
    static func forward(x: UnsafePointer<Float>, rows: Int, w: UnsafePointer<Float>, out: Int, depth: Int,
                        y: UnsafeMutablePointer<Float>, context: KernelContext) throws {
        if out == 1 {
            for r in 0..<rows {
                var acc: Float = 0
                for d in 0..<depth { acc += x[r * depth + d] * w[d] }
                y[r] = acc
            }
        } else {
            try sgemm(m: rows, n: out, k: depth, a: x, lda: depth, b: w, ldb: depth, transposeB: true, c: y, ldc: out, context: context)
        }
    }

    /// into[out×depth] = g[rows×out]ᵀ · x[rows×depth].
    static func weightGradient(g: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, out: Int, depth: Int,
                               into: UnsafeMutablePointer<Float>, context: KernelContext) throws {
        if out == 1 {
            for d in 0..<depth { into[d] = 0 }
            for r in 0..<rows {
                let gr = g[r]
                for d in 0..<depth { into[d] += gr * x[r * depth + d] }
            }
        } else {
            try sgemm(m: out, n: depth, k: rows, a: g, lda: out, transposeA: true, b: x, ldb: depth, c: into, ldc: depth, context: context)
        }
    }
}
