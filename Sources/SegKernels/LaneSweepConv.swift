#if arch(x86_64)
import SegKernelsVNNI
#endif

/// Dense convs on the kernel with output channels across the vector lanes
/// (`narrowOutputPixelsAVX512`: 12 pixels × 32 channels per call, 24 zmm accumulators, the
/// input broadcast from memory in place). It runs these at 150–170 GFLOP/s-equivalent on one
/// core here against ~85 for the packed GEMM's 6×16 AVX2 tile with its im2col panels and
/// ~120–140 for Winograd F(2,3), so it takes every stride-1 conv it can (ResNet stages,
/// U-Net decoders, PP-LiteSeg's 1024→128 3×3 at 12×15: 4.6 → 2.1 ms) and stride-2 ones on small
/// outputs.
///
/// The image is copied once with a zero border, and the output is swept over the flattened
/// padded positions q = oy·Wp + ox: at stride 1 the input of depth row d for every position is
/// `padded + q + offsets[d]`, so twelve consecutive positions are one kernel call even where
/// they straddle output rows. The kW − 1 positions per row that fall in the border are computed
/// and dropped (2 of 17 on a 15-wide map, 2 of 122 on a 120-wide one). A stride-2 conv is four
/// stride-1 convs over the padded image's phase planes (even/odd rows × even/odd columns, each
/// ⌈Hp/2⌉ × ⌈Wp/2⌉): depth row (c, ky, kx) reads phase (ky mod 2, kx mod 2) at (ky/2, kx/2), so
/// the same sweep covers it with Wp/2-wide rows.
///
/// Depth is blocked so one block's weights (128 rows × 32 channels, 16 KiB) stay in L1 across
/// a group of tiles whose partial sums stay in L2; after the last depth block each tile goes
/// straight to the channel planes with bias, activation and residual while it is in L1 (a
/// separate transposing pass over all the sums re-read each cache line once per channel and
/// was 1.5× slower than the GEMM on a 192×240 map).
extension Conv2D {
    /// Depth rows per block.
    static let laneSweepDepthBlock = 128
    /// At most this many tiles per task (their sums: 240 KiB).
    static let laneSweepTilesPerGroup = 160

    static func usesLaneSweepKernel(_ s: Conv2DShape, options: KernelOptions) -> Bool {
        KernelISA.hasVNNI && options.directConv && options.laneSweep && s.groups == 1 && s.kernelH * s.kernelW > 1
            && s.dilationH == 1 && s.dilationW == 1 && s.outputChannels % 16 == 0 && s.outputChannels >= 32
            && s.inputChannels * s.kernelH * s.kernelW >= options.laneSweepMinDepth
            && (s.strideH == 1 && s.strideW == 1
                || s.strideH == 2 && s.strideW == 2 && s.outputHeight * s.outputWidth <= options.laneSweepStride2MaxPixels)
    }

    /// The padded image's layout for the sweep: `phases` (stride²) planes per channel, each
    /// `height` × `width` floats (the zero-bordered image itself at stride 1).
    struct LaneSweepLayout {
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
    static func laneSweepOffsets(_ s: Conv2DShape) -> [Int] {
        let layout = LaneSweepLayout(s), taps = s.kernelH * s.kernelW, st = layout.stride
        return (0..<(s.inputChannels * taps)).map { k in
            let c = k / taps, ky = k % taps / s.kernelW, kx = k % s.kernelW
            let phase = (ky % st) * st + kx % st
            return (c * layout.phases + phase) * layout.plane + (ky / st) * layout.width + kx / st
        }
    }

    /// Stride 2: copies one image into its phase planes (zeros where the padded image is
    /// padding or ends), threaded over channels.
    func copyPhasePlanes(_ x: UnsafePointer<Float>, into planes: UnsafeMutablePointer<Float>, layout: LaneSweepLayout,
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
                            // Columns j with 0 ≤ st·j + b − padLeft < W read the image, the rest are zero.
                            let first = max(0, (s.pads.left - b + st - 1) / st)
                            let last = s.width - 1 + s.pads.left - b  // st·j ≤ last
                            let end = min(layout.width, max(first, last < 0 ? 0 : last / st + 1))
                            row.update(repeating: 0, count: first)
                            (row + end).update(repeating: 0, count: layout.width - end)
                            let from = src + iy * s.width + st * first + b - s.pads.left
                            var j = 0, count = end - first
                            if st == 2 {
                                // Every other float: the even lanes of two vectors (16 read, 8 kept).
                                while j + 8 <= count && 2 * j + 16 <= s.width - (st * first + b - s.pads.left) {
                                    store8(SIMD16<Float>(lowHalf: load8(from + 2 * j), highHalf: load8(from + 2 * j + 8)).evenHalf,
                                           row + first + j)
                                    j += 8
                                }
                            }
                            while j < count { row[first + j] = from[st * j]; j += 1 }
                        }
                    }
                }
            }
        }
    }

    func runLaneSweep(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                     residual: UnsafePointer<Float>?, beta: Float, residualBeforeActivation: Bool, context: KernelContext) {
        #if arch(x86_64)
        let s = shape, m = s.outputChannels, outH = outputHeight, outW = outputWidth
        let depth = s.inputChannels * s.kernelH * s.kernelW
        let inPlane = s.height * s.width, outPlane = outH * outW
        let layout = LaneSweepLayout(s), wp = layout.width
        let pixels = Self.narrowOutputPixels
        let positions = (outH - 1) * wp + outW
        let tiles = (positions + pixels - 1) / pixels
        // The last tile reads up to pixels − 1 floats past the image's last one: zeros.
        let paddedCount = s.inputChannels * layout.phases * layout.plane + pixels
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedCount)
        defer { padded.deallocate() }
        (padded + paddedCount - pixels).update(repeating: 0, count: pixels)
        let blocks = (m + 31) / 32
        // Tasks: (channel block, group of tiles), block-major so a thread's lane keeps one
        // block's weights; enough groups that every thread has work when blocks are few, and
        // groups small enough that their sums (1.5 KiB per tile) stay in L2 across the depth
        // blocks.
        let threads = context.pool.threadCount
        let groups = min(tiles, max(1, (2 * threads + blocks - 1) / blocks, (tiles + Self.laneSweepTilesPerGroup - 1) / Self.laneSweepTilesPerGroup))
        let depthBlock = Self.laneSweepDepthBlock
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
                let out = output + image * m * outPlane
                let epilogue = Epilogue(bias: biasPointer.map { .perRow($0) } ?? .none, activation: activation,
                                        residual: residual.map { $0 + image * m * outPlane }, residualLeadingDimension: outPlane,
                                        residualBeforeActivation: residualBeforeActivation)
                context.pool.parallelFor(blocks * groups) { tasks in
                    let sums = UnsafeMutablePointer<Float>.allocate(capacity: (tiles / groups + 1) * pixels * 32)
                    defer { sums.deallocate() }
                    for task in tasks {
                        let block = task / groups, group = task % groups
                        let t0 = group * tiles / groups, t1 = (group + 1) * tiles / groups
                        let vectors = m - 32 * block <= 16 ? 1 : 2
                        let channels = (32 * block)..<min(m, 32 * block + 32)
                        let panel = wT + 32 * block * depth
                        var k0 = 0
                        while k0 < depth {
                            let kc = min(depthBlock, depth - k0)
                            for t in t0..<t1 {
                                let tile = sums + (t - t0) * pixels * 32
                                narrowOutputPixelsAVX512(kc, offsets + k0, padded + t * pixels, 1, panel + k0 * 16 * vectors, vectors,
                                                         tile, 32, k0 > 0)
                                if k0 + kc == depth {
                                    // Done while the tile is in L1: its real pixels to the channel
                                    // planes (one run per output row it touches), epilogue on each run.
                                    writeLaneSweepTile(tile, firstPosition: t * pixels, positions: positions, rowWidth: wp,
                                                      channels: channels, output: out, beta: beta, epilogue: epilogue)
                                }
                            }
                            k0 += kc
                        }
                    }
                }
            }
        }
        }
        }
        #endif
    }

    /// One tile's sums (pixel r's channels at `tile + 32·r`) to the output planes: positions
    /// past the last or in a row's border columns are dropped; each run of pixels in one output
    /// row gets the epilogue.
    @inline(__always)
    private func writeLaneSweepTile(_ tile: UnsafePointer<Float>, firstPosition: Int, positions: Int, rowWidth: Int,
                                   channels: Range<Int>, output: UnsafeMutablePointer<Float>, beta: Float, epilogue: Epilogue) {
        let outW = outputWidth, outPlane = outputHeight * outW
        var r = 0
        while r < Self.narrowOutputPixels {
            let q = firstPosition + r
            if q >= positions { break }
            let oy = q / rowWidth, ox = q - oy * rowWidth
            if ox >= outW { r += rowWidth - ox; continue }
            let count = min(Self.narrowOutputPixels - r, outW - ox), pixel = oy * outW + ox
            #if arch(x86_64)
            // Bias, residual and ReLU (most of these convs) in registers; anything else after.
            var inRegisters = epilogue.activation == .none || epilogue.activation == .relu
            if epilogue.residual != nil && epilogue.residualLeadingDimension != outPlane { inRegisters = false }
            if case .perColumn = epilogue.bias { inRegisters = false }
            var bias: UnsafePointer<Float>? = nil
            if inRegisters, case let .perRow(b) = epilogue.bias { bias = b + channels.lowerBound }
            let first = channels.lowerBound * outPlane + pixel
            laneTileToPlanesAVX512(tile, 32, r, count, channels.count, output + first, outPlane,
                                   beta, bias, inRegisters && epilogue.activation == .relu,
                                   inRegisters ? epilogue.residual.map { $0 + first } : nil, epilogue.residualBeforeActivation)
            if !inRegisters { epilogue.apply(c: output, ldc: outPlane, rows: channels, columns: pixel..<(pixel + count)) }
            #endif
            r += count
        }
    }
}
