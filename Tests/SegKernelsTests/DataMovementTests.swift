import Foundation
import Testing
@testable import SegKernels

/// Strided copies, reductions and per-channel normalisations against naive loops written here
/// (index arithmetic spelled out, sums in Double), on odd sizes that hit the SIMD tails and
/// both the serial and the threaded paths.
@Suite struct DataMovementTests {
    /// Naive strided gather: output index → input offset by the strides.
    static func naiveStrided(_ x: [Float], offset: Int, strides: [Int], dims: [Int]) -> [Float] {
        let total = dims.reduce(1, *)
        return (0..<total).map { flat in
            var rest = flat, source = offset
            for a in stride(from: dims.count - 1, through: 0, by: -1) {
                source += (rest % dims[a]) * strides[a]
                rest /= dims[a]
            }
            return x[source]
        }
    }

    @Test(arguments: [0, 1, 2, 3])
    func stridedCopyCoversSlicesStepsAndPermutations(contextIndex: Int) throws {
        let context = contexts[contextIndex % contexts.count]
        let dims = [2, 5, 37, 41]
        let x = randomValues(dims.reduce(1, *), seed: 7)
        let s = contiguousStrides(dims)
        #expect(s == [5 * 37 * 41, 37 * 41, 41, 1])
        let cases: [(String, Int, [Int], [Int])] = [
            ("whole tensor", 0, s, dims),
            ("crop rows and columns", 3 * s[2] + 2, s, [2, 5, 30, 33]),
            ("every other column", 1, [s[0], s[1], s[2], 2], [2, 5, 37, 20]),
            ("reversed rows", 36 * s[2], [s[0], s[1], -s[2], 1], [2, 5, 37, 41]),
            ("NCHW to NHWC", 0, [s[0], s[2], s[3], s[1]], [2, 37, 41, 5]),
            ("last two axes swapped", 0, [s[0], s[1], 1, s[2]], [2, 5, 41, 37]),
            ("one channel", 4 * s[1], [s[0], s[1], s[2], 1], [2, 1, 37, 41]),
            ("empty", 0, s, [2, 0, 37, 41]),
        ]
        for (label, offset, strides, outDims) in cases {
            var y = [Float](repeating: .nan, count: outDims.reduce(1, *))
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { yp in
                    guard let xb = xp.baseAddress, let yb = yp.baseAddress else { return }
                    try stridedCopy(input: xb, offset: offset, inputStrides: strides, dims: outDims, output: yb, context: context)
                }
            }
            #expect(y == Self.naiveStrided(x, offset: offset, strides: strides, dims: outDims), "\(label)")
        }
    }

    @Test func stridedCopyRejectsMismatchedStrides() {
        var y = [Float](repeating: 0, count: 4)
        let x: [Float] = [1, 2, 3, 4]
        #expect(throws: KernelError.self) {
            try stridedCopy(input: x, offset: 0, inputStrides: [1], dims: [2, 2], output: &y)
        }
    }

    static func naiveReduce(_ op: ReduceOperation, _ x: [Float], outer: Int, reduced: Int, inner: Int) -> [Float] {
        var y: [Float] = []
        for o in 0..<outer {
            for i in 0..<inner {
                let values = (0..<reduced).map { Double(x[(o * reduced + $0) * inner + i]) }
                switch op {
                case .sum: y.append(Float(values.reduce(0, +)))
                case .mean: y.append(Float(values.reduce(0, +) / Double(reduced)))
                case .max: y.append(Float(values.max() ?? 0))
                case .min: y.append(Float(values.min() ?? 0))
                }
            }
        }
        return y
    }

    @Test(arguments: [ReduceOperation.sum, .mean, .max, .min])
    func reduceMatchesNaiveLoops(op: ReduceOperation) throws {
        for context in contexts {
            for (outer, reduced, inner) in [(1, 19, 1), (3, 257, 1), (2, 5, 1029), (1, 3, 45_000), (7, 1, 13), (4, 33, 9)] {
                let x = randomValues(outer * reduced * inner, seed: UInt64(outer * 31 + reduced * 7 + inner))
                var y = [Float](repeating: .nan, count: outer * inner)
                try reduce(op, input: x, outer: outer, reduced: reduced, inner: inner, output: &y, context: context)
                expectClose(y, Self.naiveReduce(op, x, outer: outer, reduced: reduced, inner: inner), rtol: 1e-5, atol: 1e-5,
                            "\(op) \(outer)×\(reduced)×\(inner) \(describe(context))")
            }
        }
        var y = [Float](repeating: 0, count: 1)
        #expect(throws: KernelError.self) { try reduce(op, input: [1], outer: 1, reduced: 0, inner: 1, output: &y) }
    }

    @Test func instanceNormalizationMatchesTwoPassDouble() throws {
        let (batch, channels, plane) = (2, 3, 1001)
        // A large common offset: the one-pass E[x²] − E[x]² formula would lose the variance.
        let x = randomValues(batch * channels * plane, seed: 3).map { $0 + 1000 }
        let scale: [Float] = [0.5, -2, 1.25], bias: [Float] = [0, 1, -3]
        var expected: [Float] = []
        for p in 0..<(batch * channels) {
            let v = x[(p * plane)..<((p + 1) * plane)].map(Double.init)
            let mean = v.reduce(0, +) / Double(plane)
            let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(plane)
            let c = p % channels
            expected += v.map { Float(($0 - mean) / (variance + 1e-5).squareRoot() * Double(scale[c]) + Double(bias[c])) }
        }
        for context in contexts {
            var y = [Float](repeating: .nan, count: x.count)
            try instanceNormalization(input: x, planes: batch * channels, channels: channels, plane: plane, epsilon: 1e-5,
                                      scale: scale, bias: bias, output: &y, context: context)
            expectClose(y, expected, rtol: 1e-3, atol: 2e-3, "instance norm \(describe(context))")
            try instanceNormalization(input: x, planes: batch * channels, channels: channels, plane: plane, epsilon: 1e-5,
                                      scale: scale, bias: bias, output: &y, activation: .relu, context: context)
            expectClose(y, expected.map { max($0, 0) }, rtol: 1e-3, atol: 2e-3, "instance norm + relu \(describe(context))")
        }
    }

    @Test func channelAffineIsPerChannelScaleAndShift() throws {
        let (batch, channels, plane) = (2, 5, 4099)
        let x = randomValues(batch * channels * plane, seed: 11)
        let scale = randomValues(channels, seed: 12), shift = randomValues(channels, seed: 13)
        let expected = x.indices.map { i -> Float in
            let c = (i / plane) % channels
            return min(max(x[i] * scale[c] + shift[c], 0), 6)
        }
        for context in contexts {
            var y = [Float](repeating: .nan, count: x.count)
            try channelAffine(input: x, batch: batch, channels: channels, plane: plane, scale: scale, shift: shift,
                              output: &y, activation: .relu6, context: context)
            expectClose(y, expected, rtol: 1e-6, atol: 1e-6, "affine \(describe(context))")
        }
    }
}
