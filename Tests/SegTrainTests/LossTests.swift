import Foundation
import SegAutodiff
import SegTrain
import Testing

/// Losses against values computed here independently (in Double, from the definitions) and
/// their gradients against finite differences of the loss itself.
@Suite struct LossTests {
    /// 1 image, 3 classes, 2×2 pixels; the last pixel is void.
    static let logits = FloatTensor(dims: [1, 3, 2, 2], scalars: [
        2.0, 0.5, -1.0, 0.0,   // class 0 plane
        1.0, 1.5, 0.5, 3.0,    // class 1
        -1.0, 0.2, 2.5, 1.0,   // class 2
    ])
    static let labels = LabelBatch(dims: [1, 2, 2], values: [0, 1, 2, 255])

    static func reference(weights: [Double] = [1, 1, 1]) -> Double {
        var total = 0.0, norm = 0.0
        for pixel in 0..<3 {
            let z = (0..<3).map { Double(logits.scalars[$0 * 4 + pixel]) }
            let y = Int(labels.values[pixel])
            let lse = log(z.map { exp($0) }.reduce(0, +))
            total += weights[y] * (lse - z[y])
            norm += weights[y]
        }
        return total / norm
    }

    func numericGradient(_ loss: any TrainingLoss, _ logits: FloatTensor, _ labels: LabelBatch) throws -> [Float] {
        try logits.scalars.indices.map { i in
            var plus = logits, minus = logits
            plus.scalars[i] += 1e-3
            minus.scalars[i] -= 1e-3
            let a = try loss.evaluate(LossInput(outputs: ["y": plus], logitsName: "y", labels: labels)).value
            let b = try loss.evaluate(LossInput(outputs: ["y": minus], logitsName: "y", labels: labels)).value
            return Float((a - b) / 2e-3)
        }
    }

    @Test func crossEntropyMatchesDefinition() throws {
        let loss = CrossEntropyLoss()
        let r = try loss.evaluate(LossInput(outputs: ["y": Self.logits], logitsName: "y", labels: Self.labels))
        #expect(abs(r.value - Self.reference()) < 1e-6)
        let g = try #require(r.gradients["y"])
        let numeric = try numericGradient(loss, Self.logits, Self.labels)
        for (a, n) in zip(g.scalars, numeric) { #expect(abs(a - n) < 2e-3) }
        // The void pixel gets no gradient.
        for k in 0..<3 { #expect(g.scalars[k * 4 + 3] == 0) }
    }

    @Test func classWeightsFollowPyTorch() throws {
        let loss = CrossEntropyLoss(classWeights: [0.5, 2, 1])
        let r = try loss.evaluate(LossInput(outputs: ["y": Self.logits], logitsName: "y", labels: Self.labels))
        #expect(abs(r.value - Self.reference(weights: [0.5, 2, 1])) < 1e-6)
        let numeric = try numericGradient(loss, Self.logits, Self.labels)
        for (a, n) in zip(r.gradients["y"]!.scalars, numeric) { #expect(abs(a - n) < 2e-3) }
    }

    @Test func labelOutOfRangeNamesTheValue() throws {
        let bad = LabelBatch(dims: [1, 2, 2], values: [0, 7, 2, 255])
        #expect(throws: AutodiffError.loss("label value 7 in batch item 0 is outside 0..<3 and not the ignore index 255")) {
            try CrossEntropyLoss().evaluate(LossInput(outputs: ["y": Self.logits], logitsName: "y", labels: bad))
        }
    }

    /// OHEM with threshold 0.7 and minKept 1: pixel 0 (p ≈ 0.69 for its class) and pixel 2
    /// stay, the confident pixel does not count. Checked against the plain loss over the
    /// kept pixels computed here.
    @Test func ohemKeepsHardPixels() throws {
        let easy = FloatTensor(dims: [1, 2, 1, 3], scalars: [0.0, 6.0, 0.2, 0.0, 0.0, 0.0])
        let labels = LabelBatch(dims: [1, 1, 3], values: [0, 0, 1])
        let r = try CrossEntropyLoss(ohem: (threshold: 0.7, minKept: 1)).evaluate(LossInput(outputs: ["y": easy], logitsName: "y", labels: labels))
        func ce(_ z0: Double, _ z1: Double, _ y: Int) -> Double { log(exp(z0) + exp(z1)) - (y == 0 ? z0 : z1) }
        let expected = (ce(0, 0, 0) + ce(0.2, 0, 1)) / 2
        #expect(abs(r.value - expected) < 1e-6)
        #expect(r.gradients["y"]!.scalars[1] == 0 && r.gradients["y"]!.scalars[4] == 0)
    }

    @Test func diceGradientMatchesFiniteDifferences() throws {
        let loss = DiceLoss()
        let r = try loss.evaluate(LossInput(outputs: ["y": Self.logits], logitsName: "y", labels: Self.labels))
        // Independent value: softmax, then the Dice formula per class with smooth 1.
        var inter = [Double](repeating: 0, count: 3), sp = inter, st = inter
        for pixel in 0..<3 {
            let z = (0..<3).map { Double(Self.logits.scalars[$0 * 4 + pixel]) }
            let e = z.map { exp($0) }, s = e.reduce(0, +)
            for k in 0..<3 {
                sp[k] += e[k] / s
                if Int(Self.labels.values[pixel]) == k { inter[k] += e[k] / s; st[k] += 1 }
            }
        }
        var expected = 0.0
        for k in 0..<3 {
            let numerator: Double = 2 * inter[k] + 1
            expected += (1 - numerator / (sp[k] + st[k] + 1)) / 3
        }
        #expect(abs(r.value - expected) < 1e-6)
        let numeric = try numericGradient(loss, Self.logits, Self.labels)
        for (a, n) in zip(r.gradients["y"]!.scalars, numeric) { #expect(abs(a - n) < 2e-3) }
    }

    @Test func weightedSumAddsTermsAndGradients() throws {
        let sum = WeightedLossSum([(weight: 1, loss: CrossEntropyLoss()), (weight: 0.5, loss: DiceLoss())])
        let input = LossInput(outputs: ["y": Self.logits], logitsName: "y", labels: Self.labels)
        let r = try sum.evaluate(input)
        let a = try CrossEntropyLoss().evaluate(input), b = try DiceLoss().evaluate(input)
        #expect(abs(r.value - (a.value + 0.5 * b.value)) < 1e-9)
        #expect(r.parts["dice"] == b.value)
        for i in 0..<12 { #expect(abs(r.gradients["y"]!.scalars[i] - (a.gradients["y"]!.scalars[i] + 0.5 * b.gradients["y"]!.scalars[i])) < 1e-6) }
    }
}
