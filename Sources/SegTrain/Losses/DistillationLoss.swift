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
///
/// With `onlyWhereTeacherIsRight`, pixels the teacher gets wrong (its argmax differs from the
/// label) and void pixels are left out: a teacher only a little better than its student
/// otherwise pulls the student towards its mistakes as hard as towards what it knows. Hinton
/// KD then averages over all N·H·W pixels (left-out ones add 0, so weights keep their
/// meaning); channel-wise KD takes each channel's spatial softmax over the kept pixels only.
package struct DistillationLoss: TrainingLoss {
    package enum Kind: String, Sendable { case hinton, channelWise = "channel_wise" }

    package var kind: Kind
    package var temperature: Float
    package var onlyWhereTeacherIsRight: Bool

    package init(_ kind: Kind, temperature: Float, onlyWhereTeacherIsRight: Bool = false) {
        self.kind = kind
        self.temperature = temperature
        self.onlyWhereTeacherIsRight = onlyWhereTeacherIsRight
    }

    package var name: String { "\(kind.rawValue)_kd" + (onlyWhereTeacherIsRight ? "_teacher_right" : "") }

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
        let keep = onlyWhereTeacherIsRight ? try teacherRightPixels(teacher, input.checkedLabels(for: student)) : nil
        let t = Double(temperature)
        var loss = 0.0
        var gradient = [Float](repeating: 0, count: student.count)
        var ps = [Double](repeating: 0, count: length), pt = ps
        var kept = [Bool](repeating: true, count: length)
        for g in 0..<groups {
            let b = base(g)
            if let keep {
                if kind == .hinton {
                    if !keep[g] { continue }
                } else {
                    let image = g / c
                    for k in 0..<length { kept[k] = keep[image * plane + k] }
                    if !kept.contains(true) { continue }
                }
            }
            softmax(student.scalars, b, stride, length, t, kept, into: &ps)
            softmax(teacher.scalars, b, stride, length, t, kept, into: &pt)
            var kl = 0.0
            for k in 0..<length where pt[k] > 0 { kl += pt[k] * (log(pt[k]) - log(max(ps[k], 1e-300))) }
            loss += t * t * kl
            // d(T²·KL)/ds_k = T·(ps_k − pt_k), before averaging (0 for left-out pixels).
            for k in 0..<length { gradient[b + k * stride] = Float(t * (ps[k] - pt[k])) }
        }
        let scale = 1 / Double(groups)
        for i in gradient.indices { gradient[i] *= Float(scale) }
        return LossResult(value: loss * scale, gradients: [input.logitsName: FloatTensor(dims: student.dims, scalars: gradient)])
    }

    /// Softmax over the group's kept entries; left-out entries get probability 0.
    private func softmax(_ x: [Float], _ base: Int, _ stride: Int, _ length: Int, _ t: Double, _ kept: [Bool], into p: inout [Double]) {
        var m = -Double.infinity
        for k in 0..<length where kept[k] { m = max(m, Double(x[base + k * stride]) / t) }
        var sum = 0.0
        for k in 0..<length {
            let e = kept[k] ? exp(Double(x[base + k * stride]) / t - m) : 0
            p[k] = e
            sum += e
        }
        for k in 0..<length { p[k] /= sum }
    }

    /// Per pixel (N·H·W): labelled, and the teacher's highest score is the label's class.
    private func teacherRightPixels(_ teacher: FloatTensor, _ labels: LabelBatch) -> [Bool] {
        let n = teacher.dims[0], c = teacher.dims[1], plane = teacher.dims[2...].reduce(1, *)
        var keep = [Bool](repeating: false, count: n * plane)
        for image in 0..<n {
            for pixel in 0..<plane {
                let y = labels.values[image * plane + pixel]
                guard y != labels.ignoreIndex else { continue }
                let b = image * c * plane + pixel
                var best = 0
                for k in 1..<c where teacher.scalars[b + k * plane] > teacher.scalars[b + best * plane] { best = k }
                keep[image * plane + pixel] = best == Int(y)
            }
        }
        return keep
    }
}
