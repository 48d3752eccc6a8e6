#if arch(x86_64)
import SegKernelsVNNI
#endif

/// Pointwise convs with few input channels (MobileNet's 16→64 expansion at 180×240, its
/// 16→16 projection with the residual): a GEMM with K = 16 spends as much on packing B and on
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
    /// Whether `runSmallDepth` gathers each band first: on planes whose rows share L1 sets (a
    /// multiple of 1024 floats: 64→16 at 192×240 3.96 → 2.18 ms, 16→32 at 384×480 4.81 → 3.78),
    /// and with 32+ input planes of 32768+ pixels (64→16 at 192×241). Not on MobileNet's
    /// 16-deep 180×240 stage (level) or 64→24 at 90×120 (0.39 → 0.45 ms gathered).
    static func smallDepthGathers(depth: Int, plane: Int) -> Bool {
        plane >= 8192 && (plane % 1024 == 0 || depth >= 32 && plane >= 32768)
    }
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
        let k = shape.inputChannels, m = shape.outputChannels, plane = shape.height * shape.width
        // Bands of (nearly) equal width, so that parts of them are equal work.
        let widest = Self.smallDepthBandPixels(depth: k)
        let bands = (plane + widest - 1) / widest
        let bandPixels = ((plane + bands - 1) / bands + 31) / 32 * 32
        // Small maps have few bands: split the channel groups too, so every thread gets work
        // (a 23×30 map is two bands for 112 input channels).
        let groups = (m + 7) / 8
        let threads = context.pool.threadCount
        let channelParts = batch * bands >= 4 * threads ? 1 : min(groups, (4 * threads + batch * bands - 1) / (batch * bands))
        avx512Weights.withUnsafeBufferPointer { wb in
            bias.withUnsafeBufferPointerOrNil { biasPointer in
                guard let w = wb.baseAddress,
                      let sweep = AVX512ChannelSweep(conv: self, weights: w, bias: biasPointer, outPlane: plane,
                                                     residualBefore: residualBeforeActivation, accumulate: beta == 1) else { return }
                // Large planes: the band's K input rows lie a plane apart, K streams at once
                // that the hardware prefetchers do not follow (the kernel waited on its input
                // loads: LinkNet's 64→16 at 192×240 ran at 12 GMAC/s), and where planes are a
                // multiple of 4 KiB all K rows fall in one L1 set. The band is first copied
                // row by row, one sequential stream at a time, into a scratch block that stays
                // in L2, rows a band and a cache line apart.
                let gather = Self.smallDepthGathers(depth: k, plane: plane) && context.options.smallDepthGather
                let scratchStride = bandPixels + 16
                context.pool.parallelFor(batch * bands * channelParts) { tasks in
                    let scratch = gather ? UnsafeMutablePointer<Float>.allocate(capacity: k * scratchStride) : nil
                    defer { scratch?.deallocate() }
                    // Consecutive tasks that split one band's channel groups copy it once.
                    var gatheredBand = -1
                    for task in tasks {
                        let part = task % channelParts, band = task / channelParts % bands, image = task / channelParts / bands
                        let j0 = band * bandPixels
                        let columns = min(bandPixels, plane - j0)
                        var x = input + image * k * plane + j0
                        var xStride = plane
                        if let scratch {
                            let key = task / channelParts
                            if key != gatheredBand {
                                for d in 0..<k { (scratch + d * scratchStride).update(from: x + d * plane, count: columns) }
                                gatheredBand = key
                            }
                            x = UnsafePointer(scratch)
                            xStride = scratchStride
                        }
                        let out = output + image * m * plane + j0
                        let res = residual.map { $0 + image * m * plane + j0 }
                        sweep.run(channels: (part * groups / channelParts * 8)..<min(m, (part + 1) * groups / channelParts * 8),
                                  columns: columns, source: x, xStride: xStride, layout: .planes, output: out, residual: res)
                    }
                }
            }
        }
        #endif
    }
}

#if arch(x86_64)
extension PointwiseAVX512Epilogue {
    /// `activation` in the AVX-512 kernels' code, with the rest as given; nil where their code
    /// does not have it (sigmoid).
    init?(_ activation: Activation, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, residualStride: Int,
          residualBefore: Bool) {
        guard let code = Conv2D.epilogueCode(activation) else { return nil }
        self.init(activation: code.0, p0: code.1, p1: code.2, bias: bias, residual: residual, residualStride: residualStride,
                  residualBefore: residualBefore, accumulate: false)
    }
}
#endif

#if arch(x86_64)
/// One conv's output channels, eight at a time, over `columns` pixels of one output band or
/// row, on `pointwiseRowsAVX512`: the loop the pointwise, im2col and in-place paths share.
struct AVX512ChannelSweep {
    let depth: Int
    let activation: (Int32, Float, Float)
    let weights: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let outPlane: Int
    let residualBefore: Bool
    let accumulate: Bool

    /// nil where the conv's activation is not one the kernel fuses.
    init?(conv: Conv2D, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outPlane: Int,
          residualBefore: Bool, accumulate: Bool) {
        guard let activation = Conv2D.epilogueCode(conv.activation) else { return nil }
        let s = conv.shape
        depth = s.inputChannels / s.groups * s.kernelH * s.kernelW
        self.activation = activation
        self.weights = weights
        self.bias = bias
        self.outPlane = outPlane
        self.residualBefore = residualBefore
        self.accumulate = accumulate
    }

    /// `output` and `residual` point at the first pixel of channel 0 (planes `outPlane` apart).
    func run(channels: Range<Int>, columns: Int, source: UnsafePointer<Float>, xStride: Int, layout: PointwiseAVX512Layout,
             offsets: UnsafePointer<Int>? = nil, output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) {
        var r = channels.lowerBound
        while r < channels.upperBound {
            let epilogue = PointwiseAVX512Epilogue(
                activation: activation.0, p0: activation.1, p1: activation.2, bias: bias.map { $0 + r },
                residual: residual.map { $0 + r * outPlane }, residualStride: outPlane,
                residualBefore: residualBefore, accumulate: accumulate)
            pointwiseRowsAVX512(depth, min(8, channels.upperBound - r), columns, source, xStride, layout, weights + r * depth,
                                output + r * outPlane, outPlane, epilogue, offsets: offsets)
            r += 8
        }
    }
}
#endif
