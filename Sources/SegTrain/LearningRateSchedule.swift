import Foundation

/// The learning rate at each optimizer step: a base schedule over `totalSteps`, after an
/// optional linear warm-up from `warmupStartFactor`·lr to lr over `warmupSteps`.
package struct LearningRateSchedule: Sendable, Equatable, Codable {
    package enum Kind: Sendable, Equatable, Codable {
        case constant
        /// lr · gamma^(⌊step / stepSize⌋)
        case step(stepSize: Int, gamma: Float)
        /// minLR + (lr − minLR)·(1 + cos(π·t/T))/2
        case cosine(minLR: Float)
        /// (lr − endLR)·(1 − t/T)^power + endLR (PaddleSeg's PolynomialDecay, power 0.9)
        case poly(power: Float, endLR: Float)
    }

    package var kind: Kind
    package var baseLR: Float
    package var totalSteps: Int
    package var warmupSteps: Int
    package var warmupStartFactor: Float

    package init(_ kind: Kind, baseLR: Float, totalSteps: Int, warmupSteps: Int = 0, warmupStartFactor: Float = 0.1) {
        self.kind = kind
        self.baseLR = baseLR
        self.totalSteps = max(1, totalSteps)
        self.warmupSteps = max(0, warmupSteps)
        self.warmupStartFactor = warmupStartFactor
    }

    /// Learning rate for 0-based optimizer step `step`.
    package func rate(at step: Int) -> Float {
        if step < warmupSteps {
            let f = warmupStartFactor + (1 - warmupStartFactor) * Float(step) / Float(warmupSteps)
            return baseLR * f
        }
        // The decay runs over the steps after warm-up.
        let t = Float(step - warmupSteps), span = Float(max(1, totalSteps - warmupSteps))
        let progress = min(1, t / span)
        switch kind {
        case .constant: return baseLR
        case .step(let size, let gamma): return baseLR * Foundation.pow(gamma, Float((step - warmupSteps) / max(1, size)))
        case .cosine(let minLR): return minLR + (baseLR - minLR) * (1 + Foundation.cos(Float.pi * progress)) / 2
        case .poly(let power, let endLR): return (baseLR - endLR) * Foundation.pow(1 - progress, power) + endLR
        }
    }
}
