#if arch(x86_64)
import SegKernelsVNNI
#endif

/// Deep stride-1 convs on small maps (PP-LiteSeg's 1024→128 3×3 at 12×15, a ResNet's last
/// stage) on the kernel with output channels across the vector lanes
/// (`narrowOutputPixelsAVX512`, 12 pixels × 32 channels per call). On such maps the packed
/// GEMM reads no panel in place (rows are narrower than the 48 pixels that needs), so it copied
/// im2col panels of K × H·W floats in runs of a row's 15 pixels, about a sixth of the conv's
/// time, and ran its 6×16 AVX2 tile.
///
/// Here the image is copied once with a zero border, and the output is swept over the
/// flattened padded positions q = oy·Wp + ox: at stride 1 the input of depth row d for every
/// position is `padded + q + offsets[d]`, so twelve consecutive positions are one kernel call
/// even where they straddle output rows. The kW − 1 positions per row that fall in the border
/// are computed and dropped (2 of 17 on a 15-wide map). A stride-2 conv (a ResNet stage's
/// first) is four stride-1 convs over the padded image's phase planes (even/odd rows × even/odd
/// columns, each ⌈Hp/2⌉ × ⌈Wp/2⌉): depth row (c, ky, kx) reads phase (ky mod 2, kx mod 2) at
/// (ky/2, kx/2), so the same flattened sweep covers it with Wp/2-wide rows. Depth is blocked so one block's
/// weights (128 rows × 32 channels, 16 KiB) stay in L1 across the pixel tiles; the sums
/// collect in a position-major scratch, and a last pass writes them channel-major with bias,
/// activation and residual.
extension Conv2D {
    /// Shallower convs keep the GEMM (measured below this depth: no gain).
    static let smallMapMinDepth = 512
    /// Depth rows per block.
    static let smallMapDepthBlock = 128

    static func usesSmallMapKernel(_ s: Conv2DShape, options: KernelOptions) -> Bool {
        KernelISA.hasVNNI && options.directConv && s.groups == 1 && s.kernelH * s.kernelW > 1
            && s.strideH == s.strideW && s.strideH <= 2 && s.dilationH == 1 && s.dilationW == 1
            && s.outputChannels % 16 == 0 && s.outputChannels >= 32
            && s.outputWidth <= options.smallMapMaxWidth && s.inputChannels * s.kernelH * s.kernelW >= smallMapMinDepth
    }

    /// The padded image's layout for the sweep: `phases` (stride²) planes per channel, each
    /// `height` × `width` floats (the zero-bordered image itself at stride 1).
    struct SmallMapLayout {
        let stride: Int, height: Int, width: Int
        init(_ s: Conv2DShape) {
            stride = s.strideW
            height = (s.height + s.pads.top + s.pads.bottom + stride - 1) / stride
            width = (s.width + s.pads.left + s.pads.right + stride - 1) / stride
        }
        var phases: Int { stride * stride }
        var plane: Int { height * width }
    }

    /// Depth row (c, ky, kx) → its offset from a position's origin in the phase planes.
    static func smallMapOffsets(_ s: Conv2DShape) -> [Int] {
        let layout = SmallMapLayout(s), taps = s.kernelH * s.kernelW, st = layout.stride
        return (0..<(s.inputChannels * taps)).map { k in
            let c = k / taps, ky = k % taps / s.kernelW, kx = k % s.kernelW
            let phase = (ky % st) * st + kx % st
            return (c * layout.phases + phase) * layout.plane + (ky / st) * layout.width + kx / st
        }
    }

    /// Stride 2: copies one image into its phase planes (zeros where the padded image is
    /// padding or ends), threaded over channels.
    func copyPhasePlanes(_ x: UnsafePointer<Float>, into planes: UnsafeMutablePointer<Float>, layout: SmallMapLayout,
                         context: KernelContext) {
        let s = shape, st = layout.stride, inPlane = s.height * s.width
        context.pool.parallelFor(s.inputChannels) { channels in
            for c in channels {
                let src = x + c * inPlane
                for a in 0..<st {
                    for b in 0..<st {
                        let dst = planes + (c * layout.phases + a * st + b) * layout.plane
                        for i in 0..<layout.height {
                            let iy = st * i + a - s.pads.top
                            let row = dst + i * layout.width
                            guard iy >= 0 && iy < s.height else { row.update(repeating: 0, count: layout.width); continue }
                            for j in 0..<layout.width {
                                let ix = st * j + b - s.pads.left
                                row[j] = ix >= 0 && ix < s.width ? src[iy * s.width + ix] : 0
                            }
                        }
                    }
                }
            }
        }
    }

    func runSmallMap(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                     residual: UnsafePointer<Float>?, beta: Float, residualBeforeActivation: Bool, context: KernelContext) {
        #if arch(x86_64)
        let s = shape, m = s.outputChannels, outH = outputHeight, outW = outputWidth
        let depth = s.inputChannels * s.kernelH * s.kernelW
        let inPlane = s.height * s.width, outPlane = outH * outW
        let layout = SmallMapLayout(s), wp = layout.width
        let pixels = Self.narrowOutputPixels
        let positions = (outH - 1) * wp + outW
        let tiles = (positions + pixels - 1) / pixels
        // The last tile reads up to pixels − 1 floats past the image's last one: zeros.
        let paddedCount = s.inputChannels * layout.phases * layout.plane + pixels
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedCount)
        defer { padded.deallocate() }
        (padded + paddedCount - pixels).update(repeating: 0, count: pixels)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: tiles * pixels * m)
        defer { sums.deallocate() }
        let blocks = (m + 31) / 32
        // Tasks: (channel block, group of tiles), block-major so a thread's lane keeps one
        // block's weights; enough groups that every thread has work when blocks are few.
        let threads = context.pool.threadCount
        let groups = min(tiles, max(1, (2 * threads + blocks - 1) / blocks))
        let depthBlock = Self.smallMapDepthBlock
        laneWeights.withUnsafeBufferPointer { wb in
        laneOffsets.withUnsafeBufferPointer { ob in
        bias.withUnsafeBufferPointerOrNil { biasPointer in
            guard let wT = wb.baseAddress, let offsets = ob.baseAddress else { return }
            for image in 0..<batch {
                let x = input + image * s.inputChannels * inPlane
                if layout.stride == 1 {
                    copyZeroBordered(x, into: padded, context: context)
                } else {
                    copyPhasePlanes(x, into: padded, layout: layout, context: context)
                }
                context.pool.parallelFor(blocks * groups) { tasks in
                    for task in tasks {
                        let block = task / groups, group = task % groups
                        let t0 = group * tiles / groups, t1 = (group + 1) * tiles / groups
                        let vectors = m - 32 * block <= 16 ? 1 : 2
                        let panel = wT + 32 * block * depth
                        var k0 = 0
                        while k0 < depth {
                            let kc = min(depthBlock, depth - k0)
                            for t in t0..<t1 {
                                narrowOutputPixelsAVX512(kc, offsets + k0, padded + t * pixels, 1, panel + k0 * 16 * vectors, vectors,
                                                         sums + t * pixels * m + 32 * block, m, k0 > 0)
                            }
                            k0 += kc
                        }
                    }
                }
                let out = output + image * m * outPlane
                let epilogue = Epilogue(bias: biasPointer.map { .perRow($0) } ?? .none, activation: activation,
                                        residual: residual.map { $0 + image * m * outPlane }, residualLeadingDimension: outPlane,
                                        residualBeforeActivation: residualBeforeActivation)
                context.pool.parallelFor(m) { channels in
                    for o in channels {
                        let plane = out + o * outPlane
                        for oy in 0..<outH {
                            let src = sums + oy * wp * m + o, dst = plane + oy * outW
                            for ox in 0..<outW {
                                let sum = src[ox * m]
                                dst[ox] = beta == 0 ? sum : sum + beta * dst[ox]
                            }
                        }
                    }
                    epilogue.apply(c: out, ldc: outPlane, rows: channels, columns: 0..<outPlane)
                }
            }
        }
        }
        }
        #endif
    }
}
