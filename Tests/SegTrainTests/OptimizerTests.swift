import Foundation
import SegAutodiff
import SegTrain
import Testing

/// Optimizer updates against the published update rules evaluated by hand (Double).
@Suite struct OptimizerTests {
    @Test func sgdMomentumAndNesterov() {
        for nesterov in [false, true] {
            var sgd = SGD(momentum: 0.9, nesterov: nesterov, weightDecay: WeightDecayPolicy(rate: 0.1))
            var p = ["w": FloatTensor(dims: [1, 1], scalars: [1.0])]
            let grads: [Float] = [0.5, -0.25]
            var w = 1.0, v = 0.0
            for (t, g) in grads.enumerated() {
                sgd.step(&p, gradients: ["w": FloatTensor(dims: [1, 1], scalars: [g])], lr: 0.1)
                let d = Double(g) + 0.1 * w
                v = t == 0 ? d : 0.9 * v + d
                w -= 0.1 * (nesterov ? d + 0.9 * v : v)
                #expect(abs(Double(p["w"]!.scalars[0]) - w) < 1e-6)
            }
        }
    }

    @Test func adamWTwoSteps() {
        var adam = AdamW(weightDecay: WeightDecayPolicy(rate: 0.01))
        var p = ["w": FloatTensor(dims: [2, 1], scalars: [1.0, -2.0])]
        var w = [1.0, -2.0], m = [0.0, 0.0], v = [0.0, 0.0]
        for (t, g) in [[0.3, -0.1], [0.2, 0.4]].enumerated() {
            adam.step(&p, gradients: ["w": FloatTensor(dims: [2, 1], scalars: g.map { Float($0) })], lr: 1e-2)
            for i in 0..<2 {
                w[i] *= 1 - 1e-2 * 0.01
                m[i] = 0.9 * m[i] + 0.1 * g[i]
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                let mh = m[i] / (1 - pow(0.9, Double(t + 1))), vh = v[i] / (1 - pow(0.999, Double(t + 1)))
                w[i] -= 1e-2 * mh / (vh.squareRoot() + 1e-8)
                #expect(abs(Double(p["w"]!.scalars[i]) - w[i]) < 1e-6)
            }
        }
    }

    @Test func rankOneParametersSkipWeightDecayByDefault() {
        var sgd = SGD(momentum: 0, weightDecay: WeightDecayPolicy(rate: 0.5))
        var p = ["bias": FloatTensor(dims: [2], scalars: [1, 1]), "w": FloatTensor(dims: [1, 2], scalars: [1, 1])]
        let zero = ["bias": FloatTensor(zeros: [2]), "w": FloatTensor(zeros: [1, 2])]
        sgd.step(&p, gradients: zero, lr: 1)
        #expect(p["bias"]!.scalars == [1, 1])
        #expect(p["w"]!.scalars == [0.5, 0.5])
    }

    @Test func stateRoundTrips() throws {
        var a = AdamW()
        var p = ["w": FloatTensor(dims: [2], scalars: [1, 2])]
        a.step(&p, gradients: ["w": FloatTensor(dims: [2], scalars: [0.1, 0.2])], lr: 0.1)
        var b = AdamW()
        try b.restore(a.state)
        var p2 = p
        a.step(&p, gradients: ["w": FloatTensor(dims: [2], scalars: [0.3, -0.2])], lr: 0.1)
        b.step(&p2, gradients: ["w": FloatTensor(dims: [2], scalars: [0.3, -0.2])], lr: 0.1)
        #expect(p == p2)
        #expect(throws: TrainingError.self) { try b.restore(SGD().state) }
    }

    @Test func clippingScalesToTheNorm() {
        var g = ["a": FloatTensor(dims: [2], scalars: [3, 0]), "b": FloatTensor(dims: [1], scalars: [4])]
        let norm = clipGradients(&g, maxNorm: 1)
        #expect(abs(norm - 5) < 1e-6)
        #expect(abs(g["a"]!.scalars[0] - 0.6) < 1e-5 && abs(g["b"]!.scalars[0] - 0.8) < 1e-5)
    }

    @Test func schedules() {
        let cosine = LearningRateSchedule(.cosine(minLR: 0), baseLR: 1, totalSteps: 100)
        #expect(cosine.rate(at: 0) == 1)
        #expect(abs(cosine.rate(at: 50) - 0.5) < 1e-6)
        #expect(abs(cosine.rate(at: 100)) < 1e-6)
        let poly = LearningRateSchedule(.poly(power: 0.9, endLR: 0), baseLR: 0.01, totalSteps: 10)
        #expect(abs(poly.rate(at: 5) - 0.01 * Float(pow(0.5, 0.9))) < 1e-7)
        let step = LearningRateSchedule(.step(stepSize: 3, gamma: 0.1), baseLR: 1, totalSteps: 10)
        #expect(step.rate(at: 2) == 1 && abs(step.rate(at: 3) - 0.1) < 1e-7)
        let warm = LearningRateSchedule(.constant, baseLR: 1, totalSteps: 10, warmupSteps: 4, warmupStartFactor: 0)
        #expect(warm.rate(at: 0) == 0 && warm.rate(at: 2) == 0.5 && warm.rate(at: 4) == 1)
    }
}
