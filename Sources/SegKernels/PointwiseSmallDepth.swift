#if arch(x86_64)
import SegKernelsVNNI
#endif

/// Pointwise convs with few input channels (MobileNet's 16→64 expansion at 180×240, its
/// 16→16 projection with the residual): a GEMM with K ≤ 32 spends as much on packing B and on
/// each micro-kernel call's setup and stores as on its multiply-adds. Here the input planes are
/// read in place (row d of B is channel d's plane), the weights stay in L1 and are broadcast
/// from there, and each call sweeps eight output channels across a band of pixels with
/// 512-bit vectors (`pointwiseRowsAVX512`), applying the epilogue before its one store.
///
/// Pixels are cut into bands of `bandPixels` (the threads' unit of work); inside a band the
/// eight-channel row groups run one after another, so each writes eight long row streams and
/// the band's input (K × band floats) stays in L2 between them.
extension Conv2D {
    /// Pixels per band: the band's input (depth × band floats) stays in L2 (a quarter of it)
    /// while every eight-channel group sweeps it.
    static func smallDepthBandPixels(depth: Int) -> Int { max(64, min(4096, (1 << 16) / depth / 32 * 32)) }

    /// Whether a pointwise conv takes this path (decided at init; `run` also needs the AVX2 ISA
    /// and a CPU with AVX-512, else it falls back to the GEMM). Measured per layer against the
    /// packed GEMM on LRASPP-MobileNetV3 and DeepLabV3+-MobileNetV2 (benchmarks/results):
    /// - depth: each 32-pixel column reads one vector from every input plane, and on large
    ///   maps every plane is another page, so past the L1 TLB's reach (~64 pages) the kernel
    ///   lost (144→24 and 96→24 at 96×120: 13–20% slower; 72→24 at 90×120 still 15% faster).
    ///   Planes of at most `smallDepthSmallPlane` pixels share pages, and there it won up to
    ///   960 input channels (960→160 at 23×30: 5–7% faster); 1280→256 lost 3–6%.
    /// - output channels: groups of eight, a partial group computed whole (256→11 at 96×120:
    ///   1.5× slower), so only where that waste is small.
    static func usesSmallDepthKernel(_ shape: Conv2DShape, activation: Activation, options: KernelOptions) -> Bool {
        let depth = shape.inputChannels, plane = shape.height * shape.width, m = shape.outputChannels
        guard KernelISA.hasVNNI, shape.groups == 1, plane > 1, options.smallDepthPointwiseMaxDepth > 0,
              depth <= (plane <= smallDepthSmallPlane ? max(options.smallDepthPointwiseMaxDepth, smallDepthSmallPlaneMaxDepth)
                                                      : options.smallDepthPointwiseMaxDepth),
              m % 8 == 0 || m >= 64 else { return false }
        return epilogueCode(activation) != nil
    }

    static let smallDepthSmallPlane = 1024
    static let smallDepthSmallPlaneMaxDepth = 1024

    /// The AVX-512 kernel's activation code and parameters (nil: not supported there).
    static func epilogueCode(_ activation: Activation) -> (Int32, Float, Float)? {
        switch activation {
        case .none: return (0, 0, 0)
        case .relu: return (1, 0, 0)
        case let .clip(low, high): return (2, low, high)
        case .hardSwish: return (3, 0, 0)
        case let .hardSigmoid(alpha, beta): return (4, alpha, beta)
        case .sigmoid: return nil
        }
    }

    func runSmallDepth(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                       residual: UnsafePointer<Float>?, beta: Float, residualBeforeActivation: Bool, context: KernelContext) {
        #if arch(x86_64)
        guard let act = Self.epilogueCode(activation) else { return }
        let k = shape.inputChannels, m = shape.outputChannels, plane = shape.height * shape.width
        // Bands of (nearly) equal width, so that parts of them are equal work.
        let bands = (plane + Self.smallDepthBandPixels(depth: k) - 1) / Self.smallDepthBandPixels(depth: k)
        let bandPixels = ((plane + bands - 1) / bands + 31) / 32 * 32
        // Small maps have few bands: split the channel groups too, so every thread gets work
        // (a 23×30 map is two bands for 112 input channels).
        let groups = (m + 7) / 8
        let threads = context.pool.threadCount
        let channelParts = batch * bands >= 4 * threads ? 1 : min(groups, (4 * threads + batch * bands - 1) / (batch * bands))
        avx512Weights.withUnsafeBufferPointer { wb in
            bias.withUnsafeBufferPointerOrNil { biasPointer in
                guard let w = wb.baseAddress else { return }
                context.pool.parallelFor(batch * bands * channelParts) { tasks in
                    for task in tasks {
                        let part = task % channelParts, band = task / channelParts % bands, image = task / channelParts / bands
                        let j0 = band * bandPixels
                        let columns = min(bandPixels, plane - j0)
                        let x = input + image * k * plane + j0
                        let out = output + image * m * plane + j0
                        let res = residual.map { $0 + image * m * plane + j0 }
                        var r = part * groups / channelParts * 8
                        let rEnd = min(m, (part + 1) * groups / channelParts * 8)
                        while r < rEnd {
                            let epilogue = PointwiseAVX512Epilogue(
                                activation: act.0, p0: act.1, p1: act.2, bias: biasPointer.map { $0 + r },
                                residual: res.map { $0 + r * plane }, residualStride: plane,
                                residualBefore: residualBeforeActivation, accumulate: beta == 1)
                            pointwiseRowsAVX512(k, min(8, m - r), columns, x, plane, .planes, w + r * k, out + r * plane, plane, epilogue)
                            r += 8
                        }
                    }
                }
            }
        }
        #endif
    }
}
