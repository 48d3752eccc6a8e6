#if arch(x86_64)
import Testing
@testable import SegKernels
import SegKernelsVNNI

/// The lane sweep's write-out (`laneTileToPlanesAVX512`): a 12-pixel × 32-channel tile,
/// transposed in registers, against the scalar copy it replaced, element for element.
@Suite struct LaneTileTests {
    @Test(arguments: [(channels: 32, first: 0, count: 12, beta: Float(0), bias: false, relu: false, residual: 0),
                      (channels: 27, first: 3, count: 7, beta: 0.5, bias: true, relu: true, residual: 0),
                      (channels: 16, first: 11, count: 1, beta: 1, bias: true, relu: false, residual: 1),
                      (channels: 5, first: 2, count: 10, beta: 0, bias: false, relu: true, residual: 1),
                      (channels: 32, first: 1, count: 11, beta: 0, bias: true, relu: true, residual: 2)])
    func matchesTheScalarWriteOut(_ c: (channels: Int, first: Int, count: Int, beta: Float, bias: Bool, relu: Bool, residual: Int)) {
        guard KernelISA.hasVNNI else { return }
        let plane = 40, tile = randomValues(12 * 32, seed: 91), bias = randomValues(32, seed: 92)
        let old = randomValues(32 * plane, seed: 93), at = 17  // pixel `first` lands at column `at`
        // residual: 0 none, 1 added before the activation, 2 after.
        let residual = randomValues(32 * plane, seed: 94)
        var expected = old
        for o in 0..<c.channels {
            for r in c.first..<(c.first + c.count) {
                let i = o * plane + at + r - c.first
                var v = c.beta == 0 ? tile[r * 32 + o] : tile[r * 32 + o] + c.beta * old[i]
                if c.bias { v += bias[o] }
                if c.residual == 1 { v += residual[i] }
                if c.relu { v = Activation.relu.apply(v) }
                if c.residual == 2 { v += residual[i] }
                expected[i] = v
            }
        }
        var out = old
        tile.withUnsafeBufferPointer { t in
            bias.withUnsafeBufferPointer { b in
                residual.withUnsafeBufferPointer { res in
                    out.withUnsafeMutableBufferPointer { o in
                        laneTileToPlanesAVX512(t.baseAddress!, 32, c.first, c.count, c.channels, o.baseAddress! + at, plane, c.beta,
                                               c.bias ? b.baseAddress! : nil, c.relu, c.residual == 0 ? nil : res.baseAddress! + at,
                                               c.residual == 1)
                    }
                }
            }
        }
        #expect(out == expected, "\(c)")
    }
}
#endif
