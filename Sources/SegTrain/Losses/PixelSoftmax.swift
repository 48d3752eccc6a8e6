import Foundation
import SegAutodiff

/// Softmax over the class axis of N×C×(spatial) logits, pixel by pixel, in the layout the
/// model writes (class planes): each pass walks one class plane, so the loops are contiguous.
enum PixelSoftmax {
    /// Probabilities, same dims as `logits`, and log Σ exp (per pixel, N×spatial) for the losses.
    static func probabilities(_ logits: FloatTensor) -> (probabilities: [Float], logSumExp: [Float]) {
        let n = logits.dims[0], c = logits.dims[1], plane = logits.dims[2...].reduce(1, *)
        var probabilities = [Float](repeating: 0, count: logits.count)
        var logSumExp = [Float](repeating: 0, count: n * plane)
        logits.scalars.withUnsafeBufferPointer { xp in
            probabilities.withUnsafeMutableBufferPointer { pp in
                logSumExp.withUnsafeMutableBufferPointer { lp in
                    let x = xp.baseAddress!, p = pp.baseAddress!, l = lp.baseAddress!
                    for b in 0..<n {
                        let base = b * c * plane
                        let maxima = l + b * plane
                        maxima.update(from: x + base, count: plane)
                        for k in 1..<max(1, c) {
                            let row = x + base + k * plane
                            for i in 0..<plane where row[i] > maxima[i] { maxima[i] = row[i] }
                        }
                        var sums = [Float](repeating: 0, count: plane)
                        for k in 0..<c {
                            let row = x + base + k * plane, out = p + base + k * plane
                            for i in 0..<plane {
                                let e = Foundation.exp(row[i] - maxima[i])
                                out[i] = e
                                sums[i] += e
                            }
                        }
                        for k in 0..<c {
                            let out = p + base + k * plane
                            for i in 0..<plane { out[i] /= sums[i] }
                        }
                        for i in 0..<plane { maxima[i] += Foundation.log(sums[i]) }
                    }
                }
            }
        }
        return (probabilities, logSumExp)
    }
}
