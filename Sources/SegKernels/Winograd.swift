import Foundation
#if arch(x86_64)
import SegKernelsVNNI
#endif

/// 3×3 stride-1 convolution by Winograd F(2×2, 3×3) (Lavin & Gray 2015): each 2×2 output tile
/// is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over a 4×4 input tile d, so the multiply-adds become sixteen
/// GEMMs U_ξ[Cout × Cin] · V_ξ[Cin × tiles] — 16 products per 4 outputs instead of 36, 2.25×
/// fewer. Used for the high-resolution, modest-channel layers of U-Net/FPN/ResNet decoders,
/// where the implicit GEMM is far from ONNX Runtime; F(2×2) keeps the transforms exact in
/// floats up to rounding (its matrices hold only 0, ±1, ±½).
///
/// Tiles are processed in blocks of T consecutive tiles in row-major tile order (a block may
/// span several tile rows: on a 16×16 map a tile row holds only 8 tiles, and 8-column GEMMs
/// that re-read all of U per tile row ran 2× slower than the implicit GEMM): the block's
/// input transform (16 × Cin × T floats), sixteen GEMMs into 16 × Cout × T, then the output
/// transform with bias, residual and activation. Blocks are independent, so threads take
/// whole blocks and run their GEMMs on the calling thread.
final class WinogradConv3x3: @unchecked Sendable {
    let cin: Int, cout: Int
    let height: Int, width: Int
    let padTop: Int, padLeft: Int
    let outH: Int, outW: Int
    /// U_ξ = (G g Gᵀ)_ξ for ξ in 0..<16, each Cout × Cin, packed as GEMM A operands.
    let transformed: [PackedMatrix]
    /// Tiles per block: a multiple of 8 (vector width) that keeps V and M near L2 size.
    let blockTiles: Int
    /// Row k of a block's V_ξ starts k·blockTiles floats in (the GEMM reads it in place).
    let rowOffsets: [Int]
    /// Floats from V_ξ to V_ξ+1 and from M_ξ to M_ξ+1: Cin·T (Cout·T) and one cache line more.
    /// The transforms touch all sixteen ξ for each tile group; at Cin·T floats apart (a
    /// multiple of 4 KiB for every channel count that is a multiple of 16) their sixteen
    /// streams fell in one L1 set of eight ways and evicted each other: the input transform
    /// took 38% of a 128→64 conv at 45×60, as long as its sixteen GEMMs.
    let vStride: Int, mStride: Int

    /// Worth it where the implicit GEMM suffers most (few channels, large maps) and the
    /// transformed weights (16·Cin·Cout floats) stay cache-sized.
    static func isProfitable(_ s: Conv2DShape, options: KernelOptions = .standard) -> Bool {
        let ratio = s.outputHeight * s.outputWidth >= KernelOptions.winogradLargePlane
            ? options.winogradLargePlaneMinChannelRatio : options.winogradMinChannelRatio
        let maxChannelProduct = options.winogradMaxChannelProduct
        let (minimumWidth, minimumPixels) = smallMapFloor(options)
        return isEligible(s)
            // GEMM work per tile grows with Cin·Cout, transform work with Cin + Cout: below
            // the ratio the transforms eat the saving (see `KernelOptions`).
            && s.inputChannels * s.outputChannels >= ratio * (s.inputChannels + s.outputChannels)
            && s.inputChannels * s.outputChannels <= maxChannelProduct
            && s.outputHeight >= 8 && s.outputWidth >= minimumWidth && s.outputHeight * s.outputWidth >= minimumPixels
    }

    /// With the transforms on sixteen lanes (and one image's single block split by channels
    /// over the threads) Winograd wins down to 8×8 maps (512→128 at 8×8: 0.93 → 0.40 ms
    /// against the lane sweep on Zen 4); with the eight-lane transforms it lost below 400
    /// pixels (512→128 at 16×16 ran 2× slower), so they keep that floor.
    private static func smallMapFloor(_ options: KernelOptions) -> (width: Int, pixels: Int) {
        KernelISA.hasVNNI && options.vnni && options.winogradAVX512 ? (8, 64) : (16, 400)
    }

    /// Shapes the implementation handles: 3×3, stride 1, no dilation, one group, pads ≤ 1.
    static func isEligible(_ s: Conv2DShape) -> Bool {
        s.kernelH == 3 && s.kernelW == 3 && s.strideH == 1 && s.strideW == 1 && s.dilationH == 1 && s.dilationW == 1
            && s.groups == 1 && s.pads.top <= 1 && s.pads.left <= 1 && s.pads.bottom <= 1 && s.pads.right <= 1
    }

    init(shape s: Conv2DShape, weights: UnsafePointer<Float>) throws(KernelError) {
        cin = s.inputChannels; cout = s.outputChannels
        height = s.height; width = s.width
        padTop = s.pads.top; padLeft = s.pads.left
        outH = s.outputHeight; outW = s.outputWidth
        blockTiles = max(16, min(64, (32_768 / max(cin, cout)) / 16 * 16))
        rowOffsets = (0..<s.inputChannels).map { [blockTiles] in $0 * blockTiles }
        vStride = s.inputChannels * blockTiles + 16
        mStride = s.outputChannels * blockTiles + 16
        // U = G g Gᵀ with G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].
        var u = [Float](repeating: 0, count: 16 * cout * cin)
        for o in 0..<cout {
            for i in 0..<cin {
                let g = weights + (o * cin + i) * 9
                var t = [Float](repeating: 0, count: 12)  // G g: 4 × 3
                for c in 0..<3 {
                    let g0 = g[c], g1 = g[3 + c], g2 = g[6 + c]
                    t[c] = g0
                    t[3 + c] = 0.5 * (g0 + g1 + g2)
                    t[6 + c] = 0.5 * (g0 - g1 + g2)
                    t[9 + c] = g2
                }
                for r in 0..<4 {
                    let a = t[3 * r], b = t[3 * r + 1], c = t[3 * r + 2]
                    let row = [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c]
                    for col in 0..<4 { u[((r * 4 + col) * cout + o) * cin + i] = row[col] }
                }
            }
        }
        var packed: [PackedMatrix] = []
        for xi in 0..<16 {
            let p = try u.withUnsafeBufferPointer { buffer throws(KernelError) -> PackedMatrix in
                guard let base = buffer.baseAddress else { throw .unsupported("empty Winograd weights") }
                return try PackedMatrix(a: base + xi * s.outputChannels * s.inputChannels, rows: s.outputChannels,
                                        columns: s.inputChannels, leadingDimension: s.inputChannels)
            }
            packed.append(p)
        }
        transformed = packed
    }

    func run(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
             activation: Activation, residual: UnsafePointer<Float>?, residualBeforeActivation: Bool, accumulate: Bool,
             context: KernelContext) {
        let tilesH = (outH + 1) / 2, tilesW = (outW + 1) / 2
        let tilesPerImage = tilesH * tilesW
        // `t` is the layout stride of V and M (the transforms and `rowOffsets` assume it);
        // a block holds `perBlock` ≤ t tiles.
        let t = blockTiles
        let steps = TransformSteps(conv: self, wide: context.allowsVNNI && context.options.winogradAVX512, bias: bias,
                                   activation: activation, residual: residual, residualBeforeActivation: residualBeforeActivation,
                                   accumulate: accumulate)
        let threads = context.pool.threadCount
        if threads > 1 && batch == 1 && tilesPerImage <= t && cout >= 4 * Tile.mr * threads {
            return runSplittingChannels(input: input, tiles: tilesPerImage, tilesW: tilesW, output: output, steps: steps,
                                        context: context)
        }
        let (perBlock, blocksPerImage) = Self.blocking(tiles: tilesPerImage, maxTiles: t, batch: batch, threads: threads)
        context.pool.parallelFor(batch * blocksPerImage) { range in
            let v = UnsafeMutablePointer<Float>.allocate(capacity: 16 * vStride)
            // 8 floats of slack: the output transform loads 8 columns from a row segment's
            // start, which may run past the block's last column.
            let m = UnsafeMutablePointer<Float>.allocate(capacity: 16 * mStride + 8)
            defer { v.deallocate(); m.deallocate() }
            for block in range {
                let image = block / blocksPerImage
                let first = (block % blocksPerImage) * perBlock
                let count = min(perBlock, tilesPerImage - first)
                let segments = Self.segments(first: first, count: count, tilesW: tilesW)
                let x = input + image * cin * height * width
                steps.transformInput(x, segments, channels: 0..<cin, into: v)
                for xi in 0..<16 { gemm(xi, v: v, tiles: count, m: m, context: context) }
                let planeOffset = image * cout * outH * outW
                steps.transformOutput(m, segments, channels: 0..<cout, output: output, planeOffset: planeOffset)
            }
        }
    }

    /// One image whose tiles all fit one block, on several threads: the threads split the
    /// input transform by input channels and then the sixteen GEMMs and the output transform
    /// by output channels, so each reads only its share of the transformed weights (16·Cin·Cout
    /// floats: 8 MiB for 512→256). Split by tiles instead, every thread read all of them for a
    /// GEMM a few columns wide: PP-LiteSeg's 512→128 at 8×8 ran slower on two threads than on one.
    private func runSplittingChannels(input: UnsafePointer<Float>, tiles: Int, tilesW: Int, output: UnsafeMutablePointer<Float>,
                                      steps: TransformSteps, context: KernelContext) {
        let v = UnsafeMutablePointer<Float>.allocate(capacity: 16 * vStride)
        let m = UnsafeMutablePointer<Float>.allocate(capacity: 16 * mStride + 8)
        defer { v.deallocate(); m.deallocate() }
        let segments = Self.segments(first: 0, count: tiles, tilesW: tilesW)
        context.pool.parallelFor(cin) { channels in
            steps.transformInput(input, segments, channels: channels, into: v)
        }
        // Whole pairs of six-row panels (the GEMM's 12-row tiles), so no panel is split.
        let pairs = (cout + 2 * Tile.mr - 1) / (2 * Tile.mr)
        context.pool.parallelFor(pairs) { range in
            let rows = (range.lowerBound * 2 * Tile.mr)..<min(cout, range.upperBound * 2 * Tile.mr)
            for xi in 0..<16 { gemm(xi, v: v, tiles: tiles, m: m, rows: rows, context: context) }
            steps.transformOutput(m, segments, channels: rows, output: output, planeOffset: 0)
        }
    }

    /// M_ξ = U_ξ · V_ξ for a block of `tiles` tiles, all rows or only `rows` (a range that
    /// starts on a six-row panel); V_ξ's rows are read in place (full 16-tile panels). Inside a
    /// pool task the pool is busy, so it runs on the calling thread.
    private func gemm(_ xi: Int, v: UnsafeMutablePointer<Float>, tiles: Int, m: UnsafeMutablePointer<Float>,
                      rows: Range<Int>? = nil, context: KernelContext) {
        rowOffsets.withUnsafeBufferPointer { offsets in
            guard let offsetBase = offsets.baseAddress else { return }
            let base = UnsafePointer(v + xi * vStride)
            let b = GemmB.direct(DirectOperand(geometry: .pointwise(base: base, columns: tiles), offsets: offsetBase,
                                               fallback: .strided(StridedOperand(base: base, outerStride: 1, depthStride: blockTiles))))
            let driver = GemmDriver(m: cout, n: tiles, k: cin, a: .packed(transformed[xi]), b: b,
                                    alpha: 1, beta: 0, c: m + xi * mStride, ldc: blockTiles, epilogue: .none, context: context)
            if let rows { driver.runRows(rows) } else { driver.run() }
        }
    }

    /// A block's tiles as segments of tile rows: (row, first column, tiles, block column).
    private static func segments(first: Int, count: Int, tilesW: Int) -> [(ty: Int, tx0: Int, count: Int, column: Int)] {
        var segments: [(ty: Int, tx0: Int, count: Int, column: Int)] = []
        var k = first
        while k < first + count {
            let ty = k / tilesW, tx = k % tilesW
            let n = min(tilesW - tx, first + count - k)
            segments.append((ty, tx, n, k - first))
            k += n
        }
        return segments
    }

    /// One run's choice of transform code and its epilogue.
    private struct TransformSteps {
        let conv: WinogradConv3x3
        let wide: Bool
        let bias: UnsafePointer<Float>?
        let activation: Activation
        let residual: UnsafePointer<Float>?
        let residualBeforeActivation: Bool
        let accumulate: Bool

        func transformInput(_ x: UnsafePointer<Float>, _ segments: [(ty: Int, tx0: Int, count: Int, column: Int)],
                            channels: Range<Int>, into v: UnsafeMutablePointer<Float>) {
            for g in segments {
                if wide {
                    conv.transformInputAVX512(x, ty: g.ty, tx0: g.tx0, count: g.count, column: g.column, channels: channels, into: v)
                } else {
                    conv.transformInput(x, ty: g.ty, tx0: g.tx0, count: g.count, column: g.column, channels: channels, into: v)
                }
            }
        }

        func transformOutput(_ m: UnsafeMutablePointer<Float>, _ segments: [(ty: Int, tx0: Int, count: Int, column: Int)],
                             channels: Range<Int>, output: UnsafeMutablePointer<Float>, planeOffset: Int) {
            for g in segments {
                #if arch(x86_64)
                if wide, let e = PointwiseAVX512Epilogue(activation, bias: nil, residual: nil, residualStride: 0,
                                                         residualBefore: residualBeforeActivation) {
                    conv.transformOutputAVX512(m, ty: g.ty, tx0: g.tx0, count: g.count, column: g.column, channels: channels,
                                               output: output + planeOffset, bias: bias, residual: residual.map { $0 + planeOffset },
                                               accumulate: accumulate, epilogue: e)
                    continue
                }
                #endif
                conv.transformOutput(m, ty: g.ty, tx0: g.tx0, count: g.count, column: g.column, channels: channels,
                                     output: output + planeOffset, bias: bias, activation: activation,
                                     residual: residual.map { $0 + planeOffset }, residualBeforeActivation: residualBeforeActivation,
                                     accumulate: accumulate)
            }
        }
    }

    /// Tiles per block (≤ `maxTiles`, a multiple of 8 where it can be) and blocks per image.
    /// Threads take whole blocks, so a few big blocks split unevenly: 180 tiles in blocks of
    /// 64 gave one of two threads 116 tiles and the other 64 (the layer ran 1.38× faster on two
    /// threads instead of ~1.9×). Below 8 blocks per thread the count is rounded up to a
    /// multiple of the threads and the tiles spread evenly over them.
    static func blocking(tiles: Int, maxTiles: Int, batch: Int, threads: Int) -> (tiles: Int, blocks: Int) {
        let blocks = (tiles + maxTiles - 1) / maxTiles
        let total = batch * blocks
        guard threads > 1, total % threads != 0, total < 8 * threads else { return (maxTiles, blocks) }
        // Whole images per thread already balance; otherwise spread each image's tiles.
        let perImage = batch >= threads ? blocks : (blocks + threads - 1) / threads * threads
        var t = (tiles + perImage - 1) / perImage
        t = min(maxTiles, (t + 7) / 8 * 8)
        return (t, (tiles + t - 1) / t)
    }

    /// V[ξ][c][column + k] = (Bᵀ d B)_ξ for the `count` tiles (ty, tx0 + k), Bᵀ = [[1, 0, −1, 0],
    /// [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]. Eight interior tiles at a time with
    /// vectors (columns deinterleaved from two 16-float loads); edges element by element.
    fileprivate func transformInput(_ x: UnsafePointer<Float>, ty: Int, tx0: Int, count: Int, column: Int, channels: Range<Int>,
                                    into block: UnsafeMutablePointer<Float>) {
        let t = blockTiles
        let v = block + column
        let iy0 = 2 * ty - padTop
        // Last tile index (in this block) whose eight-tile group reads no right padding: a
        // group reads 18 columns from 2·tile − padLeft.
        let lastVectorStart = (width - 18 + padLeft) / 2 - tx0
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 32) { scratch in
            guard let d = scratch.baseAddress else { return }
            let tr = d + 16
            for c in channels {
                let plane = x + c * height * width
                var k = 0
                while k < count {
                    // A group of eight interior-column tiles covering tile k, shifted left when
                    // it would run past the block or into the right padding (tiles computed
                    // twice are written twice with the same values).
                    let start = min(k, count - 8, lastVectorStart)
                    if start >= 0 && start + 8 > k && 2 * (tx0 + start) - padLeft >= 0 {
                        let ix0 = 2 * (tx0 + start) - padLeft
                        for r in 0..<4 {
                            let iy = iy0 + r
                            guard iy >= 0 && iy < height else {
                                for e in 0..<4 { d[4 * r + e] = .zero }
                                continue
                            }
                            let row = plane + iy * width + ix0
                            let a = UnsafeRawPointer(row).loadUnaligned(as: SIMD16<Float>.self)
                            let b = UnsafeRawPointer(row + 2).loadUnaligned(as: SIMD16<Float>.self)
                            d[4 * r] = a.evenHalf; d[4 * r + 1] = a.oddHalf
                            d[4 * r + 2] = b.evenHalf; d[4 * r + 3] = b.oddHalf
                        }
                        Self.inputTile(d, tr)
                        for xi in 0..<16 { store8(tr[xi], v + xi * vStride + c * t + start) }
                        k = start + 8
                    } else {
                        let ix0 = 2 * (tx0 + k) - padLeft
                        for e in 0..<16 { d[e] = .zero }
                        for r in 0..<4 {
                            let iy = iy0 + r
                            guard iy >= 0 && iy < height else { continue }
                            for col in 0..<4 {
                                let ix = ix0 + col
                                if ix >= 0 && ix < width { d[4 * r + col][0] = plane[iy * width + ix] }
                            }
                        }
                        Self.inputTile(d, tr)
                        for xi in 0..<16 { v[xi * vStride + c * t + k] = tr[xi][0] }
                        k += 1
                    }
                }
            }
        }
    }

    /// `transformInput` on 512-bit vectors, sixteen tiles at a time, edges included (masked loads
    /// read the padding as zeros).
    fileprivate func transformInputAVX512(_ x: UnsafePointer<Float>, ty: Int, tx0: Int, count: Int, column: Int,
                                          channels: Range<Int>, into block: UnsafeMutablePointer<Float>) {
        #if arch(x86_64)
        let t = blockTiles, iy0 = 2 * ty - padTop
        for c in channels {
            let plane = x + c * height * width
            var k = 0
            while k < count {
                winogradInputTilesAVX512(plane, height, width, iy0, 2 * (tx0 + k) - padLeft, min(16, count - k),
                                         block + c * t + column + k, vStride)
                k += 16
            }
        }
        #endif
    }

    /// out = Bᵀ d B for 16 vectors d (row-major 4×4); `out` may not alias `d`.
    @inline(__always)
    private static func inputTile(_ d: UnsafeMutablePointer<SIMD8<Float>>, _ out: UnsafeMutablePointer<SIMD8<Float>>) {
        for col in 0..<4 {  // rows: Bᵀ d, written transposed-free into out
            let d0 = d[col], d1 = d[4 + col], d2 = d[8 + col], d3 = d[12 + col]
            out[col] = d0 - d2
            out[4 + col] = d1 + d2
            out[8 + col] = d2 - d1
            out[12 + col] = d1 - d3
        }
        for r in 0..<4 {  // columns: (Bᵀ d) B
            let t0 = out[4 * r], t1 = out[4 * r + 1], t2 = out[4 * r + 2], t3 = out[4 * r + 3]
            out[4 * r] = t0 - t2
            out[4 * r + 1] = t1 + t2
            out[4 * r + 2] = t2 - t1
            out[4 * r + 3] = t1 - t3
        }
    }

    #if arch(x86_64)
    /// `transformOutput` on 512-bit vectors, sixteen tiles (32 output columns) at a time, the
    /// right edge under masks; `epilogue` carries the activation and the residual's order.
    fileprivate func transformOutputAVX512(_ block: UnsafeMutablePointer<Float>, ty: Int, tx0: Int, count: Int, column: Int,
                                           channels: Range<Int>, output: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                                       residual: UnsafePointer<Float>?, accumulate: Bool, epilogue: PointwiseAVX512Epilogue) {
        let t = blockTiles, oy = 2 * ty, plane = outH * outW
        let rows = min(2, outH - oy)
        for o in channels {
            let b = bias?[o] ?? 0
            var k = 0
            while k < count {
                let ox0 = 2 * (tx0 + k), at = o * plane + oy * outW + ox0
                winogradOutputTilesAVX512(block + o * t + column + k, mStride, min(16, count - k), output + at, rows, outW,
                                          min(2 * min(16, count - k), outW - ox0), b, accumulate, residual.map { $0 + at },
                                          epilogue)
                k += 16
            }
        }
    }
    #endif

    /// Y = Aᵀ m A with Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]], then bias, residual, activation.
    /// Eight tiles (sixteen output columns) at a time where they are all inside the output.
    fileprivate func transformOutput(_ block: UnsafeMutablePointer<Float>, ty: Int, tx0: Int, count: Int, column: Int,
                                     channels: Range<Int>, output: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, activation: Activation,
                                 residual: UnsafePointer<Float>?, residualBeforeActivation: Bool, accumulate: Bool) {
        let t = blockTiles
        let m = block + column
        let oy = 2 * ty
        let plane = outH * outW
        for o in channels {
            let b = bias?[o] ?? 0
            var k = 0
            while k < count {
                let lanes = min(8, count - k)
                @inline(__always) func at(_ xi: Int) -> SIMD8<Float> { load8(m + xi * mStride + o * t + k) }
                // Columns first (m A): per row r, even = s0 + s1 + s2, odd = s1 − s2 − s3.
                let s00 = at(0), s01 = at(1), s02 = at(2), s03 = at(3)
                let s10 = at(4), s11 = at(5), s12 = at(6), s13 = at(7)
                let s20 = at(8), s21 = at(9), s22 = at(10), s23 = at(11)
                let s30 = at(12), s31 = at(13), s32 = at(14), s33 = at(15)
                let e0 = s00 + s01 + s02, e1 = s10 + s11 + s12, e2 = s20 + s21 + s22, e3 = s30 + s31 + s32
                let d0 = s01 - s02 - s03, d1 = s11 - s12 - s13, d2 = s21 - s22 - s23, d3 = s31 - s32 - s33
                // Then rows (Aᵀ ·): output rows oy and oy + 1.
                let top = (even: e0 + e1 + e2, odd: d0 + d1 + d2)
                let bottom = (even: e1 - e2 - e3, odd: d1 - d2 - d3)
                let ox0 = 2 * (tx0 + k)
                let vector = lanes == 8 && ox0 + 16 <= outW
                for dy in 0..<2 where oy + dy < outH {
                    let rowStart = o * plane + (oy + dy) * outW + ox0
                    let (even, odd) = dy == 0 ? top : bottom
                    if vector {
                        // Interleave even/odd columns into 16 consecutive outputs, two halves.
                        let bias8 = SIMD8<Float>(repeating: b)
                        for half in 0..<2 {
                            var value = SIMD8<Float>()
                            for l in 0..<4 { value[2 * l] = even[4 * half + l]; value[2 * l + 1] = odd[4 * half + l] }
                            value += bias8
                            let p = output + rowStart + 8 * half
                            if accumulate { value += load8(p) }
                            if let residual, residualBeforeActivation { value += load8(residual + rowStart + 8 * half) }
                            value = activation.apply(value)
                            if let residual, !residualBeforeActivation { value += load8(residual + rowStart + 8 * half) }
                            store8(value, p)
                        }
                        continue
                    }
                    for lane in 0..<lanes {
                        for dx in 0..<2 where ox0 + 2 * lane + dx < outW {
                            let index = rowStart + 2 * lane + dx
                            var value = (dx == 0 ? even : odd)[lane] + b
                            if accumulate { value += output[index] }
                            if let residual, residualBeforeActivation { value += residual[index] }
                            value = activation.apply(value)
                            if let residual, !residualBeforeActivation { value += residual[index] }
                            output[index] = value
                        }
                    }
                }
                k += 8
            }
        }
    }
}
