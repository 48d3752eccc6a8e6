import Foundation
import SegTensor

/// QuantizeLinear → DequantizeLinear on a float value trains as fake quantization. The
/// integer codes travel between the two steps as floats holding whole numbers, so each op has
/// its own step and the pair's gradient is the chain of the two:
///
/// - QuantizeLinear: q = clamp(round(x / s) + z, qmin, qmax) (round half to even; [qmin, qmax]
///   from the zero point's dtype: u8 [0, 255], s8 [−128, 127]). Straight-through estimator:
///   ∂q/∂x = 1/s where round(x / s) + z lies in [qmin, qmax], 0 outside; ∂q/∂s = −x/s² there
///   (round passes gradients), 0 outside.
/// - DequantizeLinear: y = (q − z) · s, exact: ∂y/∂q = s, ∂y/∂s = q − z.
///
/// Chained with one shared scale this gives the identity inside the range and zero outside for
/// x, and LSQ's step-size gradient (Esser et al. 2019) for s: round(x/s) − x/s inside, the
/// clamped code (qmin − z or qmax − z) outside. Scale gradients carry LSQ's scaling
/// g = 1/√(N · Qp): N the elements one scale covers per sample (per-axis: the slice along the
/// axis; per-tensor: everything after the leading batch axis for rank ≥ 3, else all), Qp the
/// largest positive code, qmax − z. Zero points are fixed (they are integers, never trained).
/// Per-tensor (scalar or one-element scale) and per-axis (1-D scale along `axis`, default 1)
/// parameters; blocked quantization (opset 21 `block_size`) is refused.
enum QuantizeGradients {
    static let all: [GradientRule] = [
        GradientRule("QuantizeLinear", versions: 10...Int.max) { ctx throws(AutodiffError) in
            try QuantizeStep(ctx, parameters: try FakeQuantParameters(ctx, dtypeOfCodes: nil))
        },
        GradientRule("DequantizeLinear", versions: 10...Int.max) { ctx throws(AutodiffError) in
            try DequantizeStep(ctx, parameters: try FakeQuantParameters(ctx, dtypeOfCodes: ctx.constants.first ?? nil))
        },
    ]
}

/// What Quantize and Dequantize steps share: the scale's layout over the value, the zero
/// points and the code range, read once at build time.
struct FakeQuantParameters {
    let label: String
    /// The scale when constant; nil when it is trained (read from the step's inputs).
    let constantScale: [Float]?
    let zeroPoints: [Float]
    let qmin: Float, qmax: Float
    /// Per-axis: scale k covers the elements whose index along the axis is k.
    let channels: Int
    let inner: Int
    let lsqFactors: [Float]

    init(_ ctx: RuleContext, dtypeOfCodes: Tensor?) throws(AutodiffError) {
        label = ctx.label
        let shape = try ctx.inputShape(0)
        if ctx.node.inputs.count > 2, !ctx.node.inputs[2].isEmpty, ctx.dynamic.count > 2, ctx.dynamic[2] {
            throw ctx.error("the zero point (input 2) must be a constant for training")
        }
        if try ctx.attribute({ try $0.int("block_size", default: 0) }) != 0 {
            throw ctx.error("blocked quantization (block_size) cannot train")
        }
        let zeroTensor = ctx.node.inputs.count > 2 && !ctx.node.inputs[2].isEmpty ? ctx.constants[2] : nil
        let codeType: DType
        if let zeroTensor { codeType = zeroTensor.dtype }
        else if let dtypeOfCodes { codeType = dtypeOfCodes.dtype }
        else {
            let code = try ctx.attribute { try $0.int("output_dtype", default: 0) }
            codeType = code == 3 ? .i8 : .u8
        }
        switch codeType {
        case .u8: (qmin, qmax) = (0, 255)
        case .i8: (qmin, qmax) = (-128, 127)
        // DequantizeLinear of an int32 bias: no range to clamp to.
        case .i32 where ctx.node.opType == "DequantizeLinear": (qmin, qmax) = (-Float(Int32.max), Float(Int32.max))
        default: throw ctx.error("codes of dtype \(codeType) cannot train (u8 or s8)")
        }
        let scaleShape = try ctx.inputShape(1)
        let scaleCount = scaleShape.reduce(1, *)
        if scaleCount > 1 {
            guard scaleShape.count == 1 else { throw ctx.error("scale of shape \(scaleShape): per-axis scales are 1-D") }
            var axis = try ctx.attribute { try $0.int("axis", default: 1) }
            if axis < 0 { axis += shape.count }
            guard axis >= 0, axis < shape.count, shape[axis] == scaleCount else {
                throw ctx.error("\(scaleCount) scales do not match axis \(axis) of shape \(shape)")
            }
            channels = scaleCount
            inner = shape[(axis + 1)...].reduce(1, *)
        } else {
            channels = 1
            inner = shape.reduce(1, *)
        }
        constantScale = try ctx.constantFloats(1)
        var zeros = [Float](repeating: 0, count: channels)
        if let zeroTensor {
            let z: [Float]
            do { z = try zeroTensor.converted(to: .f32).scalars(as: Float.self) } catch { throw ctx.error("zero point: \(error)") }
            guard z.count == channels || z.count == 1 else { throw ctx.error("\(z.count) zero points for \(channels) scales") }
            zeros = (0..<channels).map { z[z.count == 1 ? 0 : $0] }
        }
        zeroPoints = zeros
        let total = shape.reduce(1, *)
        let perScale = channels > 1 ? total / channels : (shape.count >= 3 ? total / max(shape[0], 1) : total)
        let top = qmax
        lsqFactors = zeros.map { z in 1 / (Float(max(perScale, 1)) * max(top - z, 1)).squareRoot() }
    }

    func scale(_ input: FloatTensor?) throws(AutodiffError) -> [Float] {
        guard let s = input?.scalars ?? constantScale else { throw .node(label, "the scale (input 1) is missing") }
        guard s.count == channels || (channels == 1 && s.count == 1) else { throw .node(label, "\(s.count) scales, expected \(channels)") }
        for v in s where !(v > 0 && v.isFinite) {
            throw .node(label, "scale \(v) is not positive and finite (training diverged: lower the learning rate)")
        }
        return s
    }

    /// The channel of element i.
    @inline(__always) func channel(_ i: Int) -> Int { channels == 1 ? 0 : (i / inner) % channels }
}

final class QuantizeStep: DifferentiableStep {
    let p: FakeQuantParameters
    /// A scale's gradient has the scale's own dims (scalar, [1] or [C]).
    let scaleDims: [Int]
    private var x: FloatTensor?
    private var scales: [Float] = []

    init(_ ctx: RuleContext, parameters: FakeQuantParameters) throws(AutodiffError) {
        p = parameters
        scaleDims = try ctx.inputShape(1)
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(p.label, "input 0 is missing") }
        let s = try p.scale(inputs.count > 1 ? inputs[1] : nil)
        var q = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let c = p.channel(i)
            q[i] = min(max((x.scalars[i] / s[c]).rounded(.toNearestOrEven) + p.zeroPoints[c], p.qmin), p.qmax)
        }
        self.x = x
        scales = s
        return [FloatTensor(dims: x.dims, scalars: q)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        guard let x else { throw .node(p.label, "backward before forward") }
        guard let g = outputGradients[0] else { return [nil, nil, nil] }
        let wantX = wanted[0], wantScale = wanted.count > 1 && wanted[1]
        var gx = [Float](repeating: 0, count: wantX ? x.count : 0)
        var gs = [Double](repeating: 0, count: p.channels)
        for i in 0..<x.count {
            let c = p.channel(i), s = scales[c]
            let v = (x.scalars[i] / s).rounded(.toNearestOrEven) + p.zeroPoints[c]
            guard v >= p.qmin && v <= p.qmax else { continue }
            if wantX { gx[i] = g.scalars[i] / s }
            if wantScale { gs[c] -= Double(g.scalars[i]) * Double(x.scalars[i]) / (Double(s) * Double(s)) }
        }
        let scaleGrad = wantScale ? FloatTensor(dims: scaleDims, scalars: (0..<p.channels).map { Float(gs[$0]) * p.lsqFactors[$0] }) : nil
        return [wantX ? FloatTensor(dims: x.dims, scalars: gx) : nil, scaleGrad, nil]
    }

    func release() { x = nil }
}

final class DequantizeStep: DifferentiableStep {
    let p: FakeQuantParameters
    let constantCodes: [Float]?
    let codeDims: [Int]
    let scaleDims: [Int]
    private var q: FloatTensor?
    private var scales: [Float] = []

    init(_ ctx: RuleContext, parameters: FakeQuantParameters) throws(AutodiffError) {
        p = parameters
        scaleDims = try ctx.inputShape(1)
        if let t = ctx.constants.first ?? nil {
            do { constantCodes = try t.converted(to: .f32).scalars(as: Float.self) } catch { throw ctx.error("codes: \(error)") }
        } else {
            constantCodes = nil
        }
        codeDims = try ctx.inputShape(0)
    }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let q = inputs[0] ?? constantCodes.map({ FloatTensor(dims: codeDims, scalars: $0) }) else {
            throw .node(p.label, "input 0 is missing")
        }
        let s = try p.scale(inputs.count > 1 ? inputs[1] : nil)
        var y = [Float](repeating: 0, count: q.count)
        for i in 0..<q.count {
            let c = p.channel(i)
            y[i] = (q.scalars[i] - p.zeroPoints[c]) * s[c]
        }
        self.q = q
        scales = s
        return [FloatTensor(dims: q.dims, scalars: y)]
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        guard let q else { throw .node(p.label, "backward before forward") }
        guard let g = outputGradients[0] else { return [nil, nil, nil] }
        let wantQ = wanted[0], wantScale = wanted.count > 1 && wanted[1]
        var gq = [Float](repeating: 0, count: wantQ ? q.count : 0)
        var gs = [Double](repeating: 0, count: p.channels)
        for i in 0..<q.count {
            let c = p.channel(i)
            if wantQ { gq[i] = g.scalars[i] * scales[c] }
            if wantScale { gs[c] += Double(g.scalars[i]) * Double(q.scalars[i] - p.zeroPoints[c]) }
        }
        let scaleGrad = wantScale ? FloatTensor(dims: scaleDims, scalars: (0..<p.channels).map { Float(gs[$0]) * p.lsqFactors[$0] }) : nil
        return [wantQ ? FloatTensor(dims: q.dims, scalars: gq) : nil, scaleGrad, nil]
    }

    func release() { q = nil }
}
