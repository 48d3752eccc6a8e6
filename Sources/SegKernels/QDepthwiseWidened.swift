#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The AVX2 u8 depthwise path: tasks are (image, 16-channel block, run of output rows). A task
/// widens each input row it needs once into s16 tap pairs (x[ix] − zx, x[ix + dilation] − zx)
/// in the `vpunpck{l,h}wd` lane order, with zeros for the padding columns, so every output
/// pixel is an interior one: per kernel row and tap pair, two `vpmaddwd` straight from the
/// widened row against the pair's weights, over four output pixels at a time. Rows in the
/// padding are skipped (they add nothing, as reading zx would).
///
/// The body is specialised by kernel width (3, 5 and 7 unroll their tap pairs; any other
/// width runs the same code with the width read at run time) and by the epilogue's
/// activation, so the hot loop has no per-vector switch and no loop over taps to steer.
func widenedDepthwise(_ s: Conv2DShape, _ weights: QDepthwiseWeights, x input: UnsafePointer<UInt8>, batch: Int, zeroPoint: Int32,
                      tables: PairedTables, codes: QCodeRange, output: UnsafeMutablePointer<UInt8>, context: KernelContext) {
    switch s.kernelW {
    case 3: widenedDepthwise(DepthwiseWidth3(), s, weights, input, batch, zeroPoint, tables, codes, output, context)
    case 5: widenedDepthwise(DepthwiseWidth5(), s, weights, input, batch, zeroPoint, tables, codes, output, context)
    case 7: widenedDepthwise(DepthwiseWidth7(), s, weights, input, batch, zeroPoint, tables, codes, output, context)
    default: widenedDepthwise(DepthwiseWidthAny(width: s.kernelW), s, weights, input, batch, zeroPoint, tables, codes, output, context)
    }
}

/// A kernel width the compiler can see (3, 5, 7) or one read at run time.
protocol DepthwiseWidth { var width: Int { get } }
struct DepthwiseWidth3: DepthwiseWidth { var width: Int { 3 } }
struct DepthwiseWidth5: DepthwiseWidth { var width: Int { 5 } }
struct DepthwiseWidth7: DepthwiseWidth { var width: Int { 7 } }
struct DepthwiseWidthAny: DepthwiseWidth { let width: Int }

private func widenedDepthwise<K: DepthwiseWidth>(_ k: K, _ s: Conv2DShape, _ weights: QDepthwiseWeights, _ input: UnsafePointer<UInt8>,
                                                 _ batch: Int, _ zeroPoint: Int32, _ tables: PairedTables, _ codes: QCodeRange,
                                                 _ output: UnsafeMutablePointer<UInt8>, _ context: KernelContext) {
    let run = WidenedDepthwise(shape: s, weights: weights, input: input, zeroPoint: zeroPoint, tables: tables, codes: codes, output: output)
    switch codes.activated ? codes.activation : .none {
    case .none: run.run(k, IdentityVectorActivation(), scaled: false, batch: batch, context: context)
    case .hardSwish: run.run(k, HardSwishVectorActivation(), scaled: true, batch: batch, context: context)
    case let .hardSigmoid(alpha, beta): run.run(k, HardSigmoidVectorActivation(alpha: alpha, beta: beta), scaled: true, batch: batch, context: context)
    default: run.run(k, AnyVectorActivation(activation: codes.activation), scaled: true, batch: batch, context: context)
    }
}

private struct WidenedDepthwise: @unchecked Sendable {
    let shape: Conv2DShape
    let weights: QDepthwiseWeights
    let input: UnsafePointer<UInt8>
    let zeroPoint: Int32
    let tables: PairedTables
    let codes: QCodeRange
    let output: UnsafeMutablePointer<UInt8>

    func run<K: DepthwiseWidth, A: VectorActivation>(_ k: K, _ act: A, scaled: Bool, batch: Int, context: KernelContext) {
        let s = shape
        let oh = s.outputHeight
        let blocks = weights.padded / 16
        // Widened row: columns −padLeft ..< width + padRight, plus `dilation` so a lone last
        // tap's zero-weighted partner stays inside; 64 bytes (16 channel pairs of s16) per column.
        let columns = s.pads.left + s.width + s.pads.right + s.dilationW
        let rowBytes = columns * 64
        // Output rows per task: the widened rows of a task stay within ~96 KiB.
        let rowsPerTask = max(1, min(oh, (96 * 1024 / rowBytes - (s.kernelH - 1) * s.dilationH) / max(1, s.strideH)))
        let runs = (oh + rowsPerTask - 1) / rowsPerTask
        let maxRows = (rowsPerTask - 1) * s.strideH + (s.kernelH - 1) * s.dilationH + 1
        context.pool.parallelFor(batch * blocks * runs) { range in
            // [widened rows | one output row's s32 sums, 64 bytes per pixel]
            withUnsafeTemporaryAllocation(byteCount: maxRows * rowBytes + 64 + s.outputWidth * 64, alignment: 64) { raw in
                guard let buffer = raw.baseAddress else { return }
                for task in range {
                    let image = task / (blocks * runs), block = (task / runs) % blocks, run = task % runs
                    let oy0 = run * rowsPerTask
                    rows(k, act, scaled: scaled, image: image, c0: block * 16, oy: oy0..<min(oh, oy0 + rowsPerTask),
                         buffer: buffer, rowBytes: rowBytes, columns: columns)
                }
            }
        }
    }

    /// Output rows `oys` of one image and 16-channel block.
    @inline(__always)
    private func rows<K: DepthwiseWidth, A: VectorActivation>(_ k: K, _ act: A, scaled: Bool, image: Int, c0: Int, oy oys: Range<Int>,
                                                              buffer: UnsafeMutableRawPointer, rowBytes: Int, columns: Int) {
        let s = shape, c = s.inputChannels, oh = s.outputHeight, ow = s.outputWidth
        let kw = k.width, steps = (kw + 1) / 2, dw = s.dilationW
        let x = input + image * s.height * s.width * c + c0
        // Input rows iyStart ..< iyEnd (clipped to the image) are widened, row iy at
        // buffer + (iy − iyStart) · rowBytes.
        let iyStart = max(0, oys.lowerBound * s.strideH - s.pads.top)
        let iyEnd = min(s.height, (oys.upperBound - 1) * s.strideH - s.pads.top + (s.kernelH - 1) * s.dilationH + 1)
        guard iyEnd > iyStart else { return }
        let zx = _mm256_set1_epi16(Int16(truncatingIfNeeded: zeroPoint))
        for iy in iyStart..<iyEnd {
            widenRow(x + iy * s.width * c, channels: c, width: s.width, padLeft: s.pads.left, columns: columns, dilation: dw, zx: zx,
                     into: buffer + (iy - iyStart) * rowBytes)
        }
        let pairs = UnsafeRawPointer(tables.pairs + c0 * 2), singles = UnsafeRawPointer(tables.singles + c0 * 2)
        let tapStride = weights.padded * 4  // bytes between taps in the pair tables
        let b0 = _mm256_loadu_si256(UnsafeRawPointer(tables.bias + c0).assumingMemoryBound(to: __m256i.self))
        let b1 = _mm256_loadu_si256(UnsafeRawPointer(tables.bias + c0 + 8).assumingMemoryBound(to: __m256i.self))
        let m0 = UnsafeRawPointer(tables.mult + c0).loadUnaligned(as: SIMD8<Float>.self)
        let m1 = UnsafeRawPointer(tables.mult + c0 + 8).loadUnaligned(as: SIMD8<Float>.self)
        let valid = min(16, c - c0)
        let pstep = s.strideW &* 64
        // Sums of the current output row (paired lane order), requantized once the row is done.
        let sums = buffer + (iyEnd - iyStart) * rowBytes + 64
        @inline(__always) func keep(_ ox: Int, _ lo: __m256i, _ hi: __m256i) {
            let at = sums + ox &* 64
            _mm256_storeu_si256(at.assumingMemoryBound(to: __m256i.self), lo)
            _mm256_storeu_si256((at + 32).assumingMemoryBound(to: __m256i.self), hi)
        }
        @inline(__always) func load(_ p: UnsafeRawPointer) -> __m256i { _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self)) }
        @inline(__always) func mac(_ acc: __m256i, _ p: UnsafeRawPointer, _ w: __m256i) -> __m256i {
            _mm256_add_epi32(acc, _mm256_madd_epi16(load(p), w))
        }
        for oy in oys {
            let iyTop = oy * s.strideH - s.pads.top
            let ky0 = max(0, (-iyTop + s.dilationH - 1) / s.dilationH)
            let ky1 = min(s.kernelH, (s.height - iyTop + s.dilationH - 1) / s.dilationH)
            let y = output + ((image * oh + oy) * ow) * c + c0
            // Kernel row ky reads widened row (iyTop + ky·dilation − iyStart).
            let firstRow = UnsafeRawPointer(buffer) + (iyTop + ky0 * s.dilationH - iyStart) * rowBytes
            let rowStep = s.dilationH * rowBytes
            var ox = 0
            while ox &+ 4 <= ow {
                var l0 = b0, h0 = b1, l1 = b0, h1 = b1, l2 = b0, h2 = b1, l3 = b0, h3 = b1
                var row = firstRow + ox &* pstep
                var ky = ky0
                while ky < ky1 {
                    let tapBase = ky &* kw
                    for step in 0..<steps {
                        let kx = step &* 2
                        let wp = (kx + 1 < kw ? pairs : singles) + (tapBase &+ kx) &* tapStride
                        let wl = load(wp), wh = load(wp + 32)
                        let at = row + kx &* dw &* 64
                        l0 = mac(l0, at, wl); h0 = mac(h0, at + 32, wh)
                        l1 = mac(l1, at + pstep, wl); h1 = mac(h1, at + pstep + 32, wh)
                        l2 = mac(l2, at + 2 &* pstep, wl); h2 = mac(h2, at + 2 &* pstep + 32, wh)
                        l3 = mac(l3, at + 3 &* pstep, wl); h3 = mac(h3, at + 3 &* pstep + 32, wh)
                    }
                    row += rowStep
                    ky &+= 1
                }
                keep(ox, l0, h0); keep(ox &+ 1, l1, h1); keep(ox &+ 2, l2, h2); keep(ox &+ 3, l3, h3)
                ox &+= 4
            }
            while ox < ow {
                var l0 = b0, h0 = b1
                var row = firstRow + ox &* pstep
                var ky = ky0
                while ky < ky1 {
                    for step in 0..<steps {
                        let kx = step &* 2
                        let wp = (kx + 1 < kw ? pairs : singles) + (ky &* kw &+ kx) &* tapStride
                        let at = row + kx &* dw &* 64
                        l0 = mac(l0, at, load(wp)); h0 = mac(h0, at + 32, load(wp + 32))
                    }
                    row += rowStep
                    ky &+= 1
                }
                keep(ox, l0, h0)
                ox &+= 1
            }
            storeRowPaired(UnsafeRawPointer(sums), count: ow, m0, m1, codes, act, scaled: scaled, valid: valid, y, pixelStride: c)
        }
    }
}

/// A row of `count` pixels × 16 channels of sums in the paired lane order (bias included):
/// requantize (with the activation when `scaled`) and store pixel p at y + p · pixelStride.
/// One call per output row: per pixel, a call passing vectors through the stack cost as
/// much as the multiply-adds.
private func storeRowPaired<A: VectorActivation>(_ sums: UnsafeRawPointer, count: Int, _ m0: SIMD8<Float>, _ m1: SIMD8<Float>,
                                                 _ codes: QCodeRange, _ act: A, scaled: Bool, valid: Int,
                                                 _ y: UnsafeMutablePointer<UInt8>, pixelStride: Int) {
    @inline(__always) func pixelCodes(_ p: Int) -> (SIMD8<Int32>, SIMD8<Int32>) {
        let lo = sums.loadUnaligned(fromByteOffset: p &* 64, as: SIMD8<Int32>.self)
        let hi = sums.loadUnaligned(fromByteOffset: p &* 64 &+ 32, as: SIMD8<Int32>.self)
        if scaled { return (codes.codes(lo, m0, act), codes.codes(hi, m1, act)) }
        return (codes.codes(lo, m0), codes.codes(hi, m1))
    }
    if valid == 16 {
        for p in 0..<count {
            let (q0, q1) = pixelCodes(p)
            storeCodes16(q0, q1, y + p &* pixelStride, paired: true)
        }
        return
    }
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { t in
        guard let tp = t.baseAddress else { return }
        for p in 0..<count {
            let (q0, q1) = pixelCodes(p)
            storeCodes16(q0, q1, tp, paired: true)
            for l in 0..<valid { y[p &* pixelStride &+ l] = tp[l] }
        }
    }
}

/// One input row of one 16-channel block as s16 pairs (column j, column j + dilation), both
/// minus zx, zero outside the image; column j of the buffer is image column j − padLeft.
/// Each column is widened once and carried as the next pair's partner when the dilation is 1.
@inline(__always)
private func widenRow(_ x: UnsafePointer<UInt8>, channels c: Int, width: Int, padLeft: Int, columns: Int, dilation: Int,
                      zx: __m256i, into row: UnsafeMutableRawPointer) {
    @inline(__always) func column(_ j: Int) -> __m256i {
        let ix = j &- padLeft
        guard ix >= 0 && ix < width else { return _mm256_setzero_si256() }
        let v = _mm_loadu_si128(UnsafeRawPointer(x + ix &* c).assumingMemoryBound(to: __m128i.self))
        return _mm256_sub_epi16(_mm256_cvtepu8_epi16(v), zx)
    }
    @inline(__always) func put(_ j: Int, _ a: __m256i, _ b: __m256i) {
        let at = row + j &* 64
        _mm256_storeu_si256(at.assumingMemoryBound(to: __m256i.self), _mm256_unpacklo_epi16(a, b))
        _mm256_storeu_si256((at + 32).assumingMemoryBound(to: __m256i.self), _mm256_unpackhi_epi16(a, b))
    }
    if dilation != 1 {
        for j in 0..<columns { put(j, column(j), column(j &+ dilation)) }
        return
    }
    var a = column(0)
    for j in 0..<columns {
        let b = column(j &+ 1)
        put(j, a, b)
        a = b
    }
}
#endif
