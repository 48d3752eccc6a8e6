import Foundation
import SegAutodiff
import SegTrain
import Testing

/// Distillation losses: values from their definitions computed here in Double, gradients
/// against finite differences of the loss, zero when student equals teacher.
@Suite struct DistillationLossTests {
    static let student = FloatTensor(dims: [1, 3, 1, 2], scalars: [1.0, -0.5, 0.2, 0.3, -1.0, 2.0])
    static let teacher = FloatTensor(dims: [1, 3, 1, 2], scalars: [0.5, 0.1, 1.0, -0.2, -0.3, 1.5])

    static func softmax(_ v: [Double]) -> [Double] { let m = v.max()!; let e = v.map { exp($0 - m) }; let s = e.reduce(0, +); return e.map { $0 / s } }
    static func kl(_ p: [Double], _ q: [Double]) -> Double { zip(p, q).reduce(0) { $0 + $1.0 * (log($1.0) - log($1.1)) } }

    func input(_ s: FloatTensor) -> LossInput { LossInput(outputs: ["y": s], logitsName: "y", labels: nil, teacherOutputs: ["y": Self.teacher]) }

    @Test(arguments: [(DistillationLoss.Kind.hinton, Float(2)), (.channelWise, 4), (.hinton, 1)])
    func valueAndGradient(_ kind: DistillationLoss.Kind, _ temperature: Float) throws {
        let loss = DistillationLoss(kind, temperature: temperature)
        let r = try loss.evaluate(input(Self.student))
        let t = Double(temperature)
        let s = Self.student.scalars.map(Double.init), q = Self.teacher.scalars.map(Double.init)
        var expected = 0.0
        if kind == .hinton {
            for pixel in 0..<2 {
                let ps = Self.softmax((0..<3).map { s[$0 * 2 + pixel] / t }), pt = Self.softmax((0..<3).map { q[$0 * 2 + pixel] / t })
                expected += t * t * Self.kl(pt, ps) / 2
            }
        } else {
            for channel in 0..<3 {
                let ps = Self.softmax((0..<2).map { s[channel * 2 + $0] / t }), pt = Self.softmax((0..<2).map { q[channel * 2 + $0] / t })
                expected += t * t * Self.kl(pt, ps) / 3
            }
        }
        #expect(abs(r.value - expected) < 1e-9)
        let g = try #require(r.gradients["y"])
        for i in 0..<6 {
            var plus = Self.student, minus = Self.student
            plus.scalars[i] += 1e-3
            minus.scalars[i] -= 1e-3
            let numeric = (try loss.evaluate(input(plus)).value - loss.evaluate(input(minus)).value) / 2e-3
            #expect(abs(Double(g.scalars[i]) - numeric) < 1e-4, "\(kind) T=\(temperature) [\(i)]")
        }
        // A student equal to its teacher has nothing to learn.
        let same = try loss.evaluate(LossInput(outputs: ["y": Self.teacher], logitsName: "y", labels: nil, teacherOutputs: ["y": Self.teacher]))
        #expect(abs(same.value) < 1e-12)
    }

    @Test func needsTheTeacher() {
        #expect(throws: AutodiffError.self) {
            try DistillationLoss(.hinton, temperature: 1).evaluate(LossInput(outputs: ["y": Self.student], logitsName: "y", labels: nil))
        }
    }
}

/// Distillation restricted to the pixels the teacher classifies right: the same definitions
/// over the kept pixels only, computed here by hand.
@Suite struct TeacherRightDistillationTests {
    // Two images of 1×3 pixels, 3 classes (NCHW). Teacher argmax per pixel: image 0: 0, 1, 2;
    // image 1: 2, 2, 0.
    static let teacher = FloatTensor(dims: [2, 3, 1, 3], scalars: [
        2, 0, 0,   0, 3, 0,   0, 0, 1,
        0, 0, 4,   0, 1, 0,   1, 2, 0,
    ])
    static let student = FloatTensor(dims: [2, 3, 1, 3], scalars: [
        0.5, -0.2, 0.1,   0.3, 0.9, -0.4,   -0.1, 0.2, 0.6,
        0.2, 0.0, 0.7,    -0.3, 0.4, 0.1,   0.8, 0.5, -0.6,
    ])
    // Labels: image 0: 0 (right), 2 (wrong), void; image 1: 0 (wrong), 2 (right), 0 (right).
    static let labels = LabelBatch(dims: [2, 1, 3], values: [0, 2, 255, 0, 2, 0])
    static let kept: [[Bool]] = [[true, false, false], [false, true, true]]

    func input(_ s: FloatTensor) -> LossInput {
        LossInput(outputs: ["y": s], logitsName: "y", labels: Self.labels, teacherOutputs: ["y": Self.teacher])
    }

    @Test(arguments: [DistillationLoss.Kind.hinton, .channelWise])
    func onlyKeptPixelsCount(_ kind: DistillationLoss.Kind) throws {
        let t = 2.0
        let loss = DistillationLoss(kind, temperature: Float(t), onlyWhereTeacherIsRight: true)
        let r = try loss.evaluate(input(Self.student))
        let s = Self.student.scalars.map(Double.init), q = Self.teacher.scalars.map(Double.init)
        func at(_ x: [Double], _ n: Int, _ c: Int, _ p: Int) -> Double { x[n * 9 + c * 3 + p] / t }
        var expected = 0.0
        if kind == .hinton {
            for n in 0..<2 { for p in 0..<3 where Self.kept[n][p] {
                let ps = DistillationLossTests.softmax((0..<3).map { at(s, n, $0, p) })
                let pt = DistillationLossTests.softmax((0..<3).map { at(q, n, $0, p) })
                expected += t * t * DistillationLossTests.kl(pt, ps)
            } }
            expected /= 6  // every pixel counts in the average
        } else {
            for n in 0..<2 { for c in 0..<3 {
                let pixels = (0..<3).filter { Self.kept[n][$0] }
                let ps = DistillationLossTests.softmax(pixels.map { at(s, n, c, $0) })
                let pt = DistillationLossTests.softmax(pixels.map { at(q, n, c, $0) })
                expected += t * t * DistillationLossTests.kl(pt, ps)
            } }
            expected /= 6  // N·C channels
        }
        #expect(expected > 0.01)
        #expect(abs(r.value - expected) < 1e-9)
        let g = try #require(r.gradients["y"])
        for i in 0..<18 {
            let kept = Self.kept[i / 9][i % 3]
            if !kept { #expect(g.scalars[i] == 0, "left-out pixel \(i) has a gradient") }
            var plus = Self.student, minus = Self.student
            plus.scalars[i] += 1e-3
            minus.scalars[i] -= 1e-3
            let numeric = (try loss.evaluate(input(plus)).value - loss.evaluate(input(minus)).value) / 2e-3
            #expect(abs(Double(g.scalars[i]) - numeric) < 1e-4, "\(kind) [\(i)]")
        }
        // Unmasked, the same loss reads every pixel and differs.
        let all = try DistillationLoss(kind, temperature: Float(t)).evaluate(input(Self.student))
        #expect(abs(all.value - r.value) > 1e-3)
    }

    @Test func needsLabels() {
        #expect(throws: AutodiffError.self) {
            try DistillationLoss(.hinton, temperature: 1, onlyWhereTeacherIsRight: true)
                .evaluate(LossInput(outputs: ["y": Self.student], logitsName: "y", labels: nil, teacherOutputs: ["y": Self.teacher]))
        }
    }
}
