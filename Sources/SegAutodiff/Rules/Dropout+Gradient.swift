import SegTensor

/// Dropout in training mode: each forward draws a fresh mask (keep with probability 1 − ratio)
/// and scales kept values by 1/(1 − ratio); the backward applies the same mask and scale.
/// Masks are reproducible: the stream of node N is seeded from `TrainingOptions.seed` and N's
/// name, and its k-th forward uses the k-th mask of that stream, so two programs built with one
/// seed drop the same units step by step. The ratio is the attribute before opset 12 and
/// input 1 from 12 (a constant; default 0.5). The node is the identity when its training_mode
/// input is a constant false, when the ratio is 0, or (before opset 7) when is_test is set.
/// Without a training_mode input it trains: the program is training. The optional mask output
/// is written as 0/1 floats and carries no gradient.
enum DropoutGradients {
    static let all = [GradientRule("Dropout") { ctx throws(AutodiffError) in try DropoutStep(ctx) }]
}

final class DropoutStep: DifferentiableStep {
    let label: String
    let ratio: Float
    let active: Bool
    let wantsMask: Bool
    let stream: UInt64
    private var draws: UInt64 = 0
    private var mask: [Float]?

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        let opset = ctx.attributes.opset
        var training = true
        if opset >= 12 {
            for (i, name) in [(1, "ratio"), (2, "training_mode")] where i < ctx.dynamic.count && ctx.dynamic[i] {
                throw ctx.error("\(name) (input \(i)) must be a constant for training")
            }
            ratio = try ctx.constantFloats(1)?.first ?? 0.5
            if ctx.node.inputs.count > 2, !ctx.node.inputs[2].isEmpty {
                guard let t = ctx.constants[2], let mode = try? t.scalars(as: Bool.self).first else {
                    throw ctx.error("training_mode (input 2) must be a constant bool scalar")
                }
                training = mode
            }
        } else {
            ratio = try ctx.attribute { try $0.float("ratio", default: 0.5) }
            if opset < 7, try ctx.attribute({ try $0.int("is_test", default: 0) }) != 0 { training = false }
        }
        guard ratio >= 0, ratio < 1 else { throw ctx.error("ratio \(ratio) must be in [0, 1)") }
        active = training && ratio > 0
        wantsMask = ctx.node.outputs.count > 1 && !ctx.node.outputs[1].isEmpty
        // FNV-1a of the node's label: a stable per-node stream (Hasher is seeded per process).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in ctx.label.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        stream = ctx.options.seed ^ hash
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        guard active else {
            return wantsMask ? [x, FloatTensor(repeating: 1, dims: x.dims)] : [x]
        }
        // Mask k's seed is a SplitMix output of (stream, k): unrelated streams per draw.
        var seeder = SeededGenerator(seed: stream ^ (draws &* 0xD1B5_4A32_D192_ED03))
        var rng = SeededGenerator(seed: seeder.next())
        draws += 1
        let scale = 1 / (1 - ratio)
        // Threshold on 24 random bits per unit, two units per 64-bit draw.
        let threshold = UInt64((Double(ratio) * Double(1 << 24)).rounded())
        var m = [Float](repeating: 0, count: x.count)
        var y = x.scalars
        var i = 0
        while i < m.count {
            let bits = rng.next()
            for half in 0..<2 where i < m.count {
                let u = (bits >> (UInt64(half) * 32)) & 0xFF_FFFF
                if u >= threshold { m[i] = 1; y[i] *= scale } else { y[i] = 0 }
                i += 1
            }
        }
        mask = m
        return wantsMask ? [FloatTensor(dims: x.dims, scalars: y), FloatTensor(dims: x.dims, scalars: m)] : [FloatTensor(dims: x.dims, scalars: y)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard wanted[0], let dy = outputGradients[0] else { return grads }
        guard active else { grads[0] = dy; return grads }
        guard let mask else { throw .node(label, "backward before forward") }
        let scale = 1 / (1 - ratio)
        var dx = dy
        for i in 0..<dx.count { dx.scalars[i] *= mask[i] * scale }
        grads[0] = dx
        return grads
    }

    func release() { mask = nil }
}
