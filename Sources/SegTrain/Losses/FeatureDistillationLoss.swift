import Foundation
import SegAutodiff
import SegKernels

/// Feature distillation (FitNets, Romero et al. 2015): the mean squared error between a
/// learned 1×1 adapter of a student tensor (N×Cs×H×W) and a teacher tensor (N×Ct×H×W) of
/// the same spatial size. The adapter (Ct×Cs weights and Ct biases) is the loss's own
/// parameter: trained with the student through `LossInput.parameters`, never written into
/// the student model.
package struct FeatureDistillationLoss: TrainingLoss {
    package let student: String
    package let teacher: String
    package let studentChannels: Int
    package let teacherChannels: Int
    package let weightName: String
    package let biasName: String
    private let initial: [String: FloatTensor]

    /// Adapter weights start as PyTorch's default for a conv (uniform ±1/√Cs), seeded so a
    /// run repeats; biases at zero.
    package init(student: String, teacher: String, studentChannels: Int, teacherChannels: Int, seed: UInt64) {
        self.student = student
        self.teacher = teacher
        self.studentChannels = studentChannels
        self.teacherChannels = teacherChannels
        weightName = "adapter(\(student)→\(teacher)).weight"
        biasName = "adapter(\(student)→\(teacher)).bias"
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        let bound = 1 / Float(max(1, studentChannels)).squareRoot()
        let weights = (0..<teacherChannels * studentChannels).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Float(state >> 40) / Float(1 << 24)
            return (2 * unit - 1) * bound
        }
        initial = [weightName: FloatTensor(dims: [teacherChannels, studentChannels], scalars: weights),
                   biasName: FloatTensor(zeros: [teacherChannels])]
    }

    package var name: String { "feature_kd(\(student)→\(teacher))" }
    package var auxiliaryParameters: [String: FloatTensor] { initial }
    package var studentOutputs: [String] { [student] }

    package func evaluate(_ input: LossInput) throws(AutodiffError) -> LossResult {
        guard let s = input.outputs[student] else { throw .loss("\(name): the student produced no '\(student)'") }
        let t = try input.teacherOutput(teacher, for: name)
        guard s.rank >= 2, t.rank == s.rank, s.dims[0] == t.dims[0], Array(s.dims[2...]) == Array(t.dims[2...]) else {
            throw .loss("\(name): student '\(student)' is \(s.dims) and teacher '\(teacher)' is \(t.dims); they need the same batch and spatial size")
        }
        guard s.dims[1] == studentChannels, t.dims[1] == teacherChannels else {
            throw .loss("\(name): expected \(studentChannels) student and \(teacherChannels) teacher channels, got \(s.dims[1]) and \(t.dims[1])")
        }
        guard let a = input.parameters[weightName], let bias = input.parameters[biasName] else {
            throw .loss("\(name): the adapter's parameters are missing")
        }
        let n = s.dims[0], cs = studentChannels, ct = teacherChannels, plane = s.dims[2...].reduce(1, *)
        // y = A·s + b per pixel; residual r = y − t; loss = mean(r²).
        var residual = [Float](repeating: 0, count: t.count)
        var gradS = [Float](repeating: 0, count: s.count)
        var gradA = [Float](repeating: 0, count: a.count)
        var gradB = [Float](repeating: 0, count: ct)
        var loss = 0.0
        let scale = 2 / Float(t.count)
        do {
            try a.scalars.withUnsafeBufferPointer { ap throws(KernelError) in
                try s.scalars.withUnsafeBufferPointer { sp throws(KernelError) in
                    try residual.withUnsafeMutableBufferPointer { rp throws(KernelError) in
                        for i in 0..<n {
                            try sgemm(m: ct, n: plane, k: cs, a: ap.baseAddress!, lda: cs, b: sp.baseAddress! + i * cs * plane, ldb: plane,
                                      c: rp.baseAddress! + i * ct * plane, ldc: plane)
                        }
                    }
                }
            }
            for i in 0..<n {
                for c in 0..<ct {
                    let base = (i * ct + c) * plane
                    var channelSum: Float = 0
                    for p in 0..<plane {
                        let r = residual[base + p] + bias.scalars[c] - t.scalars[base + p]
                        loss += Double(r * r)
                        residual[base + p] = r * scale  // now dL/dy
                        channelSum += residual[base + p]
                    }
                    gradB[c] += channelSum
                }
            }
            try a.scalars.withUnsafeBufferPointer { ap throws(KernelError) in
                try s.scalars.withUnsafeBufferPointer { sp throws(KernelError) in
                    try residual.withUnsafeBufferPointer { gp throws(KernelError) in
                        try gradS.withUnsafeMutableBufferPointer { dsp throws(KernelError) in
                            try gradA.withUnsafeMutableBufferPointer { dap throws(KernelError) in
                                for i in 0..<n {
                                    let g = gp.baseAddress! + i * ct * plane, x = sp.baseAddress! + i * cs * plane
                                    // dL/ds = Aᵀ·G (Cs×P); dL/dA += G·sᵀ (Ct×Cs).
                                    try sgemm(m: cs, n: plane, k: ct, a: ap.baseAddress!, lda: cs, transposeA: true, b: g, ldb: plane,
                                              c: dsp.baseAddress! + i * cs * plane, ldc: plane)
                                    try sgemm(m: ct, n: cs, k: plane, a: g, lda: plane, b: x, ldb: plane, transposeB: true,
                                              beta: i == 0 ? 0 : 1, c: dap.baseAddress!, ldc: cs)
                                }
                            }
                        }
                    }
                }
            }
        } catch {
            throw .loss("\(name): \(error)")
        }
        return LossResult(value: loss / Double(t.count), gradients: [student: FloatTensor(dims: s.dims, scalars: gradS)],
                          parameterGradients: [weightName: FloatTensor(dims: a.dims, scalars: gradA),
                                               biasName: FloatTensor(dims: bias.dims, scalars: gradB)])
    }
}
