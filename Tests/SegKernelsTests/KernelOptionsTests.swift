@testable import SegKernels
import Testing

/// The algorithm switches reach the kernels as values (no environment reads).
@Suite struct KernelOptionsTests {
    static let shape = Conv2DShape(inputChannels: 64, height: 64, width: 64, outputChannels: 64, kernelH: 3, kernelW: 3,
                                   strides: (1, 1), pads: (1, 1, 1, 1), dilations: (1, 1), groups: 1)

    func algorithm(_ options: KernelOptions) throws -> Conv2D.Algorithm {
        let w = [Float](repeating: 0.01, count: 64 * 64 * 9)
        return try w.withUnsafeBufferPointer { p in
            try Conv2D(shape: Self.shape, weights: p.baseAddress!, bias: nil, options: options).algorithm
        }
    }

    /// (The lane sweep, which takes this conv first where the CPU has AVX-512, switched off.)
    @Test func winogradFollowsItsSwitchAndItsChannelLimit() throws {
        var standard = KernelOptions.standard
        standard.laneSweep = false
        #expect(try algorithm(standard) == .winograd)
        var off = standard
        off.winograd = false
        #expect(try algorithm(off) == .implicitGEMM)
        var small = standard
        small.winogradMaxChannelProduct = 64 * 64 - 1
        #expect(try algorithm(small) == .implicitGEMM)
    }

    /// The lane sweep follows its switch and its depth and stride-2 size limits.
    @Test func laneSweepFollowsItsSwitchAndLimits() throws {
        #expect(Conv2D.usesLaneSweepKernel(Self.shape, options: .standard) == KernelISA.hasVNNI)
        var off = KernelOptions.standard
        off.laneSweep = false
        #expect(!Conv2D.usesLaneSweepKernel(Self.shape, options: off))
        var deep = KernelOptions.standard
        deep.laneSweepMinDepth = 64 * 9 + 1
        #expect(!Conv2D.usesLaneSweepKernel(Self.shape, options: deep))
        var strided = Self.shape
        strided.strideH = 2; strided.strideW = 2  // 32×32 = 1024 output pixels
        #expect(Conv2D.usesLaneSweepKernel(strided, options: .standard) == KernelISA.hasVNNI)
        var few = KernelOptions.standard
        few.laneSweepStride2MaxPixels = 1023
        #expect(!Conv2D.usesLaneSweepKernel(strided, options: few))
    }

    @Test func vnniIsNeverChosenWhenNotAllowed() throws {
        let w: [Int8] = [1, -2, 3, -4, 5, -6, 7, -8]
        #expect(try QPackedWeights(weights: w, n: 2, k: 4, allowVNNI: false).path != .vnni)
        #expect(try QPackedWeights(weights: w, n: 2, k: 4, path: .vnni, allowVNNI: false).path != .vnni)
        #expect(KernelContext(isa: .portable).allowsVNNI == false)
    }
}
