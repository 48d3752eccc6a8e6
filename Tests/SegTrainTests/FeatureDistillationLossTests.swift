import Foundation
import SegAutodiff
import SegTrain
import Testing

/// FitNets feature distillation: the value from its definition computed here in Double, the
/// gradients for the student tensor and for the adapter against finite differences, and the
/// adapter trained by the Trainer (kept out of the written model).
@Suite struct FeatureDistillationLossTests {
    // Student 2×2×1×3 (N, Cs, H, W), teacher 2×3×1×3 (Ct = 3).
    static let student = FloatTensor(dims: [2, 2, 1, 3], scalars: [0.5, -1, 0.25, 2, 0.1, -0.3, 1, 1.5, -0.5, 0.2, 0.7, -1.2])
    static let teacher = FloatTensor(dims: [2, 3, 1, 3], scalars: (0..<18).map { Float(($0 * 7) % 11) / 5 - 1 })
    static let loss = FeatureDistillationLoss(student: "s", teacher: "t", studentChannels: 2, teacherChannels: 3, seed: 5)

    func input(_ s: FloatTensor, _ parameters: [String: FloatTensor]) -> LossInput {
        LossInput(outputs: ["s": s, "y": s], logitsName: "y", labels: nil, teacherOutputs: ["t": Self.teacher], parameters: parameters)
    }

    @Test func valueAndGradientsMatchTheDefinition() throws {
        var parameters = Self.loss.auxiliaryParameters
        #expect(parameters.keys.sorted() == [Self.loss.biasName, Self.loss.weightName].sorted())
        parameters[Self.loss.biasName] = FloatTensor(dims: [3], scalars: [0.1, -0.2, 0.3])
        let r = try Self.loss.evaluate(input(Self.student, parameters))
        let a = parameters[Self.loss.weightName]!.scalars.map(Double.init), b = [0.1, -0.2, 0.3]
        var expected = 0.0
        for n in 0..<2 {
            for o in 0..<3 {
                for p in 0..<3 {
                    var y = b[o]
                    for c in 0..<2 { y += a[o * 2 + c] * Double(Self.student.scalars[(n * 2 + c) * 3 + p]) }
                    let d = y - Double(Self.teacher.scalars[(n * 3 + o) * 3 + p])
                    expected += d * d
                }
            }
        }
        expected /= 18
        #expect(abs(r.value - expected) < 1e-6, "\(r.value) vs \(expected)")

        let gs = try #require(r.gradients["s"])
        for i in 0..<Self.student.count {
            var plus = Self.student, minus = Self.student
            plus.scalars[i] += 1e-2
            minus.scalars[i] -= 1e-2
            let numeric = (try Self.loss.evaluate(input(plus, parameters)).value - Self.loss.evaluate(input(minus, parameters)).value) / 2e-2
            #expect(abs(Double(gs.scalars[i]) - numeric) < 1e-3, "student [\(i)]")
        }
        for name in [Self.loss.weightName, Self.loss.biasName] {
            let g = try #require(r.parameterGradients[name])
            for i in 0..<g.count {
                var plus = parameters, minus = parameters
                plus[name]!.scalars[i] += 1e-2
                minus[name]!.scalars[i] -= 1e-2
                let numeric = (try Self.loss.evaluate(input(Self.student, plus)).value - Self.loss.evaluate(input(Self.student, minus)).value) / 2e-2
                #expect(abs(Double(g.scalars[i]) - numeric) < 1e-3, "\(name) [\(i)]")
            }
        }
    }

    @Test func weightedSumsScaleAdapterGradientsAndNameTheirOutputs() throws {
        let sum = WeightedLossSum([(2, Self.loss)])
        #expect(sum.studentOutputs == ["s"])
        #expect(sum.auxiliaryParameters.keys.sorted() == Self.loss.auxiliaryParameters.keys.sorted())
        let parameters = Self.loss.auxiliaryParameters
        let one = try Self.loss.evaluate(input(Self.student, parameters)), two = try sum.evaluate(input(Self.student, parameters))
        #expect(abs(two.value - 2 * one.value) < 1e-9)
        let g1 = try #require(one.parameterGradients[Self.loss.weightName]), g2 = try #require(two.parameterGradients[Self.loss.weightName])
        for (x, y) in zip(g1.scalars, g2.scalars) { #expect(abs(2 * x - y) < 1e-6) }
    }

    @Test func mismatchedShapesAreNamed() {
        let wrong = LossInput(outputs: ["s": FloatTensor(zeros: [2, 2, 1, 2])], logitsName: "s", labels: nil,
                              teacherOutputs: ["t": Self.teacher], parameters: Self.loss.auxiliaryParameters)
        #expect(throws: AutodiffError.self) { try Self.loss.evaluate(wrong) }
        let noTeacher = LossInput(outputs: ["s": Self.student], logitsName: "s", labels: nil, parameters: Self.loss.auxiliaryParameters)
        #expect(throws: AutodiffError.self) { try Self.loss.evaluate(noTeacher) }
    }
}
