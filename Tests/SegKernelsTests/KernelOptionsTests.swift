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

    @Test func winogradFollowsItsSwitchAndItsChannelLimit() throws {
        #expect(try algorithm(.standard) == .winograd)
        var off = KernelOptions.standard
        off.winograd = false
        #expect(try algorithm(off) == .implicitGEMM)
        var small = KernelOptions.standard
        small.winogradMaxChannelProduct = 64 * 64 - 1
        #expect(try algorithm(small) == .implicitGEMM)
    }

    @Test func vnniIsNeverChosenWhenNotAllowed() throws {
        let w: [Int8] = [1, -2, 3, -4, 5, -6, 7, -8]
        #expect(try QPackedWeights(weights: w, n: 2, k: 4, allowVNNI: false).path != .vnni)
        #expect(try QPackedWeights(weights: w, n: 2, k: 4, path: .vnni, allowVNNI: false).path != .vnni)
        #expect(KernelContext(isa: .portable).allowsVNNI == false)
    }
}
