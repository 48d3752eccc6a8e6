import Foundation
import SegAutodiff

/// Distillation losses on a teacher's logits for the same batch (`LossInput.teacherOutputs`,
/// same output name and shape as the student's).
///
/// - `.hinton`: Hinton et al. 2015 knowledge distillation, per pixel:
///   T² · KL(softmax(t/T) ‖ softmax(s/T)) over the class axis, averaged over the pixels.
/// - `.channelWise`: Shu et al. 2021 (channel-wise distillation for dense prediction): each
///   class channel's map is turned into a distribution over the pixels by a spatial softmax
///   at temperature T, and T² · KL(teacher ‖ student) is summed over the pixels and averaged
///   over the N·C channels.
package struct DistillationLoss: TrainingLoss {
    package enum Kind: String, Sendable { case hinton, channelWise = "channel_wise" }

    package var kind: Kind
    package var temperature: Float

    package init(_ kind: Kind, temperature: Float) {
        self.kind = kind
        self.temperature = temperature
    }

    package var name: String { "\(kind.rawValue)_kd" }

    package func evaluate(_ input: LossInput) throws(AutodiffError) -> LossResult {
        let student = try input.logits()
        guard let teacher = input.teacherOutputs?[input.logitsName] else {
            throw .loss("\(name) needs the teacher's '\(input.logitsName)' for the same batch")
        }
        guard teacher.dims == student.dims else {
            throw .loss("the teacher's '\(input.logitsName)' is \(teacher.dims); the student's is \(student.dims)")
        }
        let n = student.dims[0], c = student.dims[1], plane = student.dims[2...].reduce(1, *)
        // Groups of values that share one softmax: per pixel over classes (stride plane), or per
        // channel over pixels (stride 1).
        let (groups, length, stride): (Int, Int, Int) = kind == .hinton ? (n * plane, c, plane) : (n * c, plane, 1)
        func base(_ g: Int) -> Int { kind == .hinton ? (g / plane) * c * plane + g % plane : g * plane }
        let t = Double(temperature)
        var loss = 0.0
        var gradient = [Float](repeating: 0, count: student.count)
        var ps = [Double](repeating: 0, count: length), pt = ps
        for g in 0..<groups {
            let b = base(g)
            softmax(student.scalars, b, stride, length, t, into: &ps)
            softmax(teacher.scalars, b, stride, length, t, into: &pt)
            var kl = 0.0
            for k in 0..<length where pt[k] > 0 { kl += pt[k] * (log(pt[k]) - log(max(ps[k], 1e-300))) }
            loss += t * t * kl
            // d(T²·KL)/ds_k = T·(ps_k − pt_k), before averaging.
            for k in 0..<length { gradient[b + k * stride] = Float(t * (ps[k] - pt[k])) }
        }
        let scale = 1 / Double(groups)
        for i in gradient.indices { gradient[i] *= Float(scale) }
        return LossResult(value: loss * scale, gradients: [input.logitsName: FloatTensor(dims: student.dims, scalars: gradient)])
    }

    private func softmax(_ x: [Float], _ base: Int, _ stride: Int, _ length: Int, _ t: Double, into p: inout [Double]) {
        var m = -Double.infinity
        for k in 0..<length { m = max(m, Double(x[base + k * stride]) / t) }
        var sum = 0.0
        for k in 0..<length { let e = exp(Double(x[base + k * stride]) / t - m); p[k] = e; sum += e }
        for k in 0..<length { p[k] /= sum }
    }
}
