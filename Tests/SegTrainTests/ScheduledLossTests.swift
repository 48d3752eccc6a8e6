import Foundation
import SegAutodiff
import SegTrain
import Testing

/// Scheduled distillation weights: the factor at the ends and middle of training, and value
/// and gradients scaled by it.
@Suite struct ScheduledLossTests {
    @Test func factorsAndScaling() throws {
        let kd = DistillationLoss(.channelWise, temperature: 4)
        #expect(ScheduledLoss(kd, decay: .linear).factor(at: 0) == 1)
        #expect(abs(ScheduledLoss(kd, decay: .linear).factor(at: 0.25) - 0.75) < 1e-12)
        #expect(ScheduledLoss(kd, decay: .linear).factor(at: 1) == 0)
        #expect(abs(ScheduledLoss(kd, decay: .cosine).factor(at: 0.5) - 0.5) < 1e-12)
        #expect(ScheduledLoss(kd, decay: .cosine).factor(at: 2) < 1e-12)
        #expect(ScheduledLoss(kd, decay: .constant).factor(at: 0.9) == 1)

        var input = LossInput(outputs: ["y": DistillationLossTests.student], logitsName: "y", labels: nil,
                              teacherOutputs: ["y": DistillationLossTests.teacher])
        let plain = try kd.evaluate(input)
        input.progress = 0.25
        let scheduled = try ScheduledLoss(kd, decay: .linear).evaluate(input)
        #expect(abs(scheduled.value - 0.75 * plain.value) < 1e-12)
        let g0 = try #require(plain.gradients["y"]), g1 = try #require(scheduled.gradients["y"])
        for (a, b) in zip(g0.scalars, g1.scalars) { #expect(abs(0.75 * a - b) < 1e-7) }
        #expect(ScheduledLoss(kd, decay: .linear).name == "channel_wise_kd[linear decay]")
    }
}
