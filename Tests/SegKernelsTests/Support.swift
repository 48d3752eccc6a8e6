import Foundation
import Testing
@testable import SegKernels

/// Every (ISA path, thread count) the tests cover: both paths where this CPU can run them,
/// one and two threads.
let contexts: [KernelContext] = {
    let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2)]
    return KernelISA.allCases.filter(\.isAvailable).flatMap { isa in pools.map { KernelContext(pool: $0, isa: isa) } }
}()

/// Deterministic values in [−1, 1) (xorshift), so failures reproduce.
func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Float(Double(state >> 40) / Double(1 << 24) * 2 - 1)
    }
}

/// |actual − expected| ≤ atol + rtol·|expected| element by element.
func expectClose(_ actual: [Float], _ expected: [Float], rtol: Float = 1e-4, atol: Float = 1e-5,
                 _ label: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label()): count", sourceLocation: sourceLocation)
    var worst: (Int, Float)? = nil
    for i in 0..<min(actual.count, expected.count) {
        let error = abs(actual[i] - expected[i])
        if !(error <= atol + rtol * abs(expected[i])) && (worst == nil || error > worst!.1) { worst = (i, error) }
    }
    if let (i, _) = worst {
        Issue.record("\(label()): element \(i) is \(actual[i]), expected \(expected[i])", sourceLocation: sourceLocation)
    }
}

func describe(_ context: KernelContext) -> String { "\(context.isa)/\(context.pool.threadCount)t" }

/// Reference activations in Double.
func referenceActivation(_ activation: Activation, _ x: Double) -> Double {
    switch activation {
    case .none: return x
    case .relu: return max(x, 0)
    case let .clip(low, high): return min(max(x, Double(low)), Double(high))
    case .hardSwish: return x * min(max(x / 6 + 0.5, 0), 1)
    case let .hardSigmoid(alpha, beta): return min(max(Double(alpha) * x + Double(beta), 0), 1)
    case .sigmoid: return 1 / (1 + exp(-x))
    }
}

let allActivations: [Activation] = [.none, .relu, .relu6, .clip(min: -0.25, max: 0.5), .hardSwish,
                                    .hardSigmoid(alpha: 0.2, beta: 0.5), .sigmoid]
