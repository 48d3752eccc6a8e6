#if arch(x86_64)
import _Builtin_intrinsics.intel
import SegKernelsVNNI
#endif

/// How u8 × s8 products are summed on AVX2.
package enum QGemmPath: String, Sendable, CaseIterable {
    /// Both operands widened to s16, pairs summed by `vpmaddwd` into s32: never saturates.
    case exact
    /// `vpmaddubsw` (u8 × s8 pairs into s16, saturating) then `vpmaddwd` by ones into s32.
    /// Exact only when no pair of weights can push the s16 sum out of range; `QPackedWeights`
    /// picks it only then.
    case maddubs
    /// `vpdpbusd` (AVX512-VNNI on 256-bit vectors): u8 × s8 quads summed straight into s32,
    /// exact for any weights, one instruction per 8 lanes. Same packing as `.maddubs`. Only
    /// where `KernelISA.hasVNNI`; `QPackedWeights` picks it there for every weight range.
    case vnni
}

/// s8 weights W[N × K] (N output channels, K = reduction, in the order the A rows use)
/// packed once for `qgemm`: 16 output channels per panel, K padded to a multiple of 4 with
/// zeros. Also keeps per-channel weight sums, so an activation zero point costs one multiply
/// per channel: Σ w·(x − zx) = Σ w·x − zx·Σ w.
package struct QPackedWeights: Sendable {
    package let n: Int, k: Int
    let kPadded: Int
    package let path: QGemmPath
    /// `.maddubs`, `.vnni`: [panel][k/4][16][4] s8. `.exact`: [panel][k/2][16][2] s16 (as bytes).
    let panels: [UInt8]
    /// Σ_k W[n][k].
    package let rowSums: [Int32]
    /// The weights as given, for the portable path.
    let weights: [Int8]

    static let nr = 16

    /// Whether `vpmaddubsw` cannot saturate: for every pair (k, k+1) it sums (k even), the
    /// positive weights add up to ≤ 128 and so do the magnitudes of the negative ones
    /// (255 · 128 = 32640 ≤ 32767; a mixed-sign pair is bounded by its larger side).
    package static func maddubsIsExact(_ weights: [Int8], n: Int, k: Int) -> Bool {
        for row in 0..<n {
            var j = 0
            while j < k {
                let a = Int(weights[row * k + j]), b = j + 1 < k ? Int(weights[row * k + j + 1]) : 0
                if max(a, 0) + max(b, 0) > 128 || max(-a, 0) + max(-b, 0) > 128 { return false }
                j += 2
            }
        }
        return true
    }

    /// `path` nil: `.vnni` when the CPU has it, else `.maddubs` when provably exact for these
    /// weights, else `.exact`. `.vnni` asked for on a CPU without it falls back to that same
    /// AVX2 choice. Forcing `.maddubs` on weights that can saturate gives wrong sums (for
    /// measurement only). `allowVNNI` false (a run's `KernelContext.allowsVNNI`) treats the CPU
    /// as one without VNNI.
    package init(weights: [Int8], n: Int, k: Int, path: QGemmPath? = nil, allowVNNI: Bool = true) throws(KernelError) {
        try require(n >= 1, "N", n, "must be ≥ 1")
        try require(k >= 1, "K", k, "must be ≥ 1")
        try require(weights.count == n * k, "weights", weights.count, "must hold N·K = \(n * k) values")
        self.n = n
        self.k = k
        kPadded = (k + 3) / 4 * 4
        let avx2Path: () -> QGemmPath = { Self.maddubsIsExact(weights, n: n, k: k) ? .maddubs : .exact }
        let vnni = allowVNNI && KernelISA.hasVNNI
        var chosen = path ?? (vnni ? .vnni : avx2Path())
        if chosen == .vnni && !vnni { chosen = avx2Path() }
        self.path = chosen
        self.weights = weights
        rowSums = (0..<n).map { row in (0..<k).reduce(Int32(0)) { $0 + Int32(weights[row * k + $1]) } }
        let panelCount = (n + Self.nr - 1) / Self.nr
        var packed: [UInt8]
        switch chosen {
        case .maddubs, .vnni:
            packed = [UInt8](repeating: 0, count: panelCount * kPadded * Self.nr)
            for p in 0..<panelCount {
                for g in 0..<(kPadded / 4) {
                    for c in 0..<Self.nr where p * Self.nr + c < n {
                        for t in 0..<4 where g * 4 + t < k {
                            packed[((p * (kPadded / 4) + g) * Self.nr + c) * 4 + t] = UInt8(bitPattern: weights[(p * Self.nr + c) * k + g * 4 + t])
                        }
                    }
                }
            }
        case .exact:
            var halves = [Int16](repeating: 0, count: panelCount * kPadded * Self.nr)
            for p in 0..<panelCount {
                for g in 0..<(kPadded / 2) {
                    for c in 0..<Self.nr where p * Self.nr + c < n {
                        for t in 0..<2 where g * 2 + t < k {
                            halves[((p * (kPadded / 2) + g) * Self.nr + c) * 2 + t] = Int16(weights[(p * Self.nr + c) * k + g * 2 + t])
                        }
                    }
                }
            }
            packed = halves.withUnsafeBytes { [UInt8]($0) }
        }
        panels = packed
    }

    var panelBytes: Int { kPadded * Self.nr * (path == .exact ? 2 : 1) }
}

/// What happens to the s32 sums acc[r][n] = Σ_k x[r][k]·W[n][k]:
/// - `.u8`: q = clamp(round_half_even((acc + bias[n]) · multiplier[n]) + zeroPoint, low, high)
///   (low/high inside [0, 255]: a fused Relu/Clip is a narrower clamp).
/// - `.f32`: y = (acc + bias[n]) · multiplier[n] (dequantized, for a float consumer).
/// - `.u8` with a float `activation` (anything but `.none`): `multiplier[n]` is the dequantizing
///   x_scale · w_scale[n], and q = clamp(round_half_even(act((acc + bias[n]) · multiplier[n]) ·
///   (1 / outputScale)) + zeroPoint, low, high) — a HardSwish/HardSigmoid/Sigmoid between a conv and
///   its QuantizeLinear, computed in float as the QDQ graph does.
/// `bias` already holds the quantized bias minus zx·Σ_k W[n][k].
package struct QRequantization: Sendable {
    package var bias: [Int32]
    package var multiplier: [Float]
    package var zeroPoint: Int32
    package var low: Int32, high: Int32
    /// A float activation applied before quantizing (`.none`: plain requantization).
    package var activation: Activation
    /// The output scale the activated float is divided by (used only with an activation).
    package var outputScale: Float
    /// `.f32` output only: each float is then quantized and dequantized with these parameters
    /// (a QuantizeLinear read only by its DequantizeLinear, as the fake-quantize step does it).
    package var fakeQuantize: QuantParameters? = nil
    /// `.f32` output only, after any fake quantization: one float per channel added (a bias
    /// Add that reads the dequantized product).
    package var addend: [Float]? = nil

    package init(bias: [Int32], multiplier: [Float], zeroPoint: Int32 = 0, low: Int32 = 0, high: Int32 = 255,
                activation: Activation = .none, outputScale: Float = 1) {
        self.bias = bias; self.multiplier = multiplier; self.zeroPoint = zeroPoint; self.low = low; self.high = high
        self.activation = activation; self.outputScale = outputScale
    }

    /// Multiplying by it stands for QuantizeLinear's division (a divide per vector is most of
    /// the epilogue): the two differ only when the quotient is within an ulp of a half-code tie.
    package var inverseOutputScale: Float { 1 / outputScale }

    /// Whether the epilogue runs a float activation.
    package var isActivated: Bool { if case .none = activation { false } else { true } }

    @inline(__always)
    package func requantize(_ acc: Int32, channel n: Int) -> Int32 {
        requantizeScaled(acc &+ bias[n], channel: n)
    }

    /// `requantize` of a sum that already includes the bias.
    @inline(__always)
    func requantizeScaled(_ accWithBias: Int32, channel n: Int) -> Int32 {
        let v = Float(accWithBias) * multiplier[n]
        if isActivated {
            // The scalar reference of `QCodeRange.codes`: QuantizeLinear of the activated float.
            let y = activation.apply(v) * inverseOutputScale
            let lo = Float(low &- zeroPoint), hi = Float(high &- zeroPoint)
            let c = y < lo ? lo : (y > hi ? hi : y)
            return Int32(c.rounded(.toNearestOrEven)) &+ zeroPoint
        }
        return min(max(Int32(v.rounded(.toNearestOrEven)) &+ zeroPoint, low), high)
    }

    /// Padded to whole 16-channel panels so the vector epilogue never reads past the end.
    func padded(to count: Int) -> QRequantization {
        var r = self
        r.bias += [Int32](repeating: 0, count: max(0, count - bias.count))
        r.multiplier += [Float](repeating: 0, count: max(0, count - multiplier.count))
        if let a = addend { r.addend = a + [Float](repeating: 0, count: max(0, count - a.count)) }
        return r
    }
}

/// Where `qgemm` writes row r, channel n.
package enum QGemmOutput {
    /// u8 codes at base[r·rowStride + n] (NHWC when rows are pixels).
    case u8(UnsafeMutablePointer<UInt8>, rowStride: Int)
    /// f32 at base[r·rowStride + n·channelStride] (NCHW: rowStride 1, channelStride H·W).
    case f32(UnsafeMutablePointer<Float>, rowStride: Int, channelStride: Int)
}

/// Rows of the A operand (u8 activations, K per row), produced on demand so im2col never
/// materialises the whole matrix.
package enum QGemmA {
    /// Row r at base + r·rowStride, K bytes (readable up to K rounded up to 4).
    case rows(UnsafePointer<UInt8>, rowStride: Int)
    /// Filled by `fill(rows, destination, destinationStride)`: K bytes per row.
    case gather(QRowGather)
}

/// An im2col-style row source.
/// `fill` may write up to 16 bytes past a row's K bytes (the next row overwrites them;
/// `qgemm` leaves slack after the last row).
package protocol QRowGather: Sendable {
    func fill(rows: Range<Int>, into: UnsafeMutablePointer<UInt8>, stride: Int)
}

/// C[M × N] = requantize(A[M × K] · Wᵀ), rows split over the pool. A is u8, W is s8.
package func qgemm(m: Int, a: QGemmA, weights: QPackedWeights, requantization: QRequantization, output: QGemmOutput,
                  context: KernelContext = .shared) throws(KernelError) {
    try require(m >= 0, "M", m, "must be ≥ 0")
    try require(requantization.bias.count >= weights.n && requantization.multiplier.count >= weights.n,
                "requantization", requantization.bias.count, "needs one bias and multiplier per output channel (\(weights.n))")
    if m == 0 { return }
    let panelCount = (weights.n + QPackedWeights.nr - 1) / QPackedWeights.nr
    let rq = requantization.padded(to: panelCount * QPackedWeights.nr)
    let tiles = (m + 3) / 4
    // A tile of rows is the unit of work; a task takes a contiguous run of them.
    context.pool.parallelFor(context.pool.threadCount == 1 ? 1 : tiles) { range in
        let r0 = context.pool.threadCount == 1 ? 0 : range.lowerBound * 4
        let r1 = context.pool.threadCount == 1 ? m : min(m, range.upperBound * 4)
        QGemmTask(m: m, a: a, w: weights, rq: rq, output: output, isa: context.isa, codes: QCodeRange(rq)).run(rows: r0..<r1)
    }
}

struct QGemmTask {
    let m: Int
    let a: QGemmA
    let w: QPackedWeights
    let rq: QRequantization
    let output: QGemmOutput
    let isa: KernelISA
    /// The epilogue's constants, built once per task.
    let codes: QCodeRange

    /// Rows per block: the packed A block (≤ 32 rows × K) stays in L1/L2 while every
    /// weight panel passes over it.
    static let mc = 32

    func run(rows: Range<Int>) {
        let kp = w.kPadded
        let elementBytes = w.path == .exact && isa == .avx2 ? 2 : 1
        // [gathered u8 | widened s16 | the block's s32 sums for one panel (mc × 16)]
        withUnsafeTemporaryAllocation(byteCount: Self.mc * kp * 3 + 64 + Self.mc * QPackedWeights.nr * 4, alignment: 64) { raw in
            guard let base = raw.baseAddress else { return }
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            let sums = (base + Self.mc * kp * 3 + 64).assumingMemoryBound(to: Int32.self)
            // u8 gather area first, the s16 widening after it.
            let gathered = bytes, widened = bytes + Self.mc * kp
            var i0 = rows.lowerBound
            while i0 < rows.upperBound {
                let i1 = min(rows.upperBound, i0 + Self.mc)
                var aBase: UnsafeRawPointer
                var aStride: Int
                switch a {
                case let .rows(p, rowStride):
                    aBase = UnsafeRawPointer(p + i0 * rowStride); aStride = rowStride
                case let .gather(g):
                    g.fill(rows: i0..<i1, into: gathered, stride: kp)
                    for r in 0..<(i1 - i0) { (gathered + r * kp + w.k).update(repeating: 0, count: kp - w.k) }
                    aBase = UnsafeRawPointer(gathered); aStride = kp
                }
                if w.path == .exact && isa == .avx2 {
                    // Widen to s16 once per block; every panel reuses it. K padding reads
                    // bytes of the next row (or slack) but meets zero weights.
                    let src = aBase.assumingMemoryBound(to: UInt8.self)
                    let dst = UnsafeMutableRawPointer(widened).assumingMemoryBound(to: Int16.self)
                    for r in 0..<(i1 - i0) { widen(src + r * aStride, dst + r * kp, count: w.k, padded: kp) }
                    aBase = UnsafeRawPointer(widened); aStride = kp
                }
                block(rows: i0..<i1, a: aBase, aStride: aStride * elementBytes, sums: sums)
                i0 = i1
            }
        }
    }

    private func widen(_ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Int16>, count: Int, padded: Int) {
        var j = 0
        #if arch(x86_64)
        while j + 16 <= count {
            let v = _mm_loadu_si128(UnsafeRawPointer(src + j).assumingMemoryBound(to: __m128i.self))
            _mm256_storeu_si256(UnsafeMutableRawPointer(dst + j).assumingMemoryBound(to: __m256i.self), _mm256_cvtepu8_epi16(v))
            j += 16
        }
        #endif
        while j < count { dst[j] = Int16(src[j]); j += 1 }
        while j < padded { dst[j] = 0; j += 1 }
    }

    /// All panels over rows `rows`, whose A rows start at `a` (byte stride `aStride`).
    /// u8 output on AVX2: each tile's sums land in `sums` (row-major, 16 per row) and the
    /// epilogue runs once per panel over the whole block — a tight loop over memory the
    /// core pipelines well, where a call per 4 × 16 tile passed 256 bytes of registers
    /// through the stack and cost more than the multiply-adds of a small-K layer.
    private func block(rows: Range<Int>, a: UnsafeRawPointer, aStride: Int, sums: UnsafeMutablePointer<Int32>) {
        let panelCount = (w.n + QPackedWeights.nr - 1) / QPackedWeights.nr
        w.panels.withUnsafeBufferPointer { pb in
        rq.bias.withUnsafeBufferPointer { bias in
        rq.multiplier.withUnsafeBufferPointer { mult in
            guard let panels = pb.baseAddress, let biasBase = bias.baseAddress, let multBase = mult.baseAddress else { return }
            for p in 0..<panelCount {
                let n0 = p * QPackedWeights.nr
                let columns = min(QPackedWeights.nr, w.n - n0)
                var r = rows.lowerBound
                #if arch(x86_64)
                // Whole groups of 8 rows whose sums go to memory: the 8-row kernel.
                if isa == .avx2 && w.path == .vnni && blockEpilogue {
                    while r + 8 <= rows.upperBound {
                        qKernelVNNI8(w.kPadded / 4, a + (r - rows.lowerBound) * aStride, aStride, panels + p * w.panelBytes, biasBase + n0,
                                     UnsafeMutableRawPointer(sums + (r - rows.lowerBound) * QPackedWeights.nr))
                        r += 8
                    }
                }
                #endif
                while r < rows.upperBound {
                    let count = min(4, rows.upperBound - r)
                    // Short tiles repeat their last row (valid memory); only real rows are stored.
                    let t = a + (r - rows.lowerBound) * aStride
                    let p0 = t, p1 = t + min(1, count - 1) * aStride, p2 = t + min(2, count - 1) * aStride, p3 = t + min(3, count - 1) * aStride
                    var acc = QTile()
                    // Sums start at the (corrected) bias: the epilogue only scales.
                    #if arch(x86_64)
                    if isa == .avx2 {
                        let tileSums = sums + (r - rows.lowerBound) * QPackedWeights.nr
                        if w.path == .vnni && blockEpilogue {
                            qKernelVNNI(w.kPadded / 4, p0, p1, p2, p3, panels + p * w.panelBytes, biasBase + n0, UnsafeMutableRawPointer(tileSums))
                            r += count
                            continue
                        }
                        if w.path == .vnni {
                            withUnsafeMutableBytes(of: &acc.v) { t in
                                guard let tile = t.baseAddress else { return }
                                qKernelVNNI(w.kPadded / 4, p0, p1, p2, p3, panels + p * w.panelBytes, biasBase + n0, tile)
                            }
                        } else if w.path == .exact {
                            qKernelExact(w.kPadded / 2, p0, p1, p2, p3, panels + p * w.panelBytes, biasBase + n0, &acc)
                        } else {
                            qKernelMaddubs(w.kPadded / 4, p0, p1, p2, p3, panels + p * w.panelBytes, biasBase + n0, &acc)
                        }
                    } else {
                        portableTile([p0, p1, p2, p3], n0: n0, columns: columns, bias: biasBase + n0, &acc)
                    }
                    #else
                    portableTile([p0, p1, p2, p3], n0: n0, columns: columns, bias: biasBase + n0, &acc)
                    #endif
                    #if arch(x86_64)
                    if blockEpilogue {
                        withUnsafeBytes(of: acc.v) { t in
                            guard let tile = t.baseAddress else { return }
                            UnsafeMutableRawPointer(sums + (r - rows.lowerBound) * QPackedWeights.nr).copyMemory(from: tile, byteCount: 256)
                        }
                        r += count
                        continue
                    }
                    #endif
                    store(acc, row: r, rows: count, n0: n0, columns: columns, bias: biasBase + n0, mult: multBase + n0)
                    r += count
                }
                #if arch(x86_64)
                if blockEpilogue, case let .u8(base, rowStride) = output {
                    storeBlockU8(sums, rows: rows.count, columns: columns, mult: multBase + n0, codes: codes,
                                 base + rows.lowerBound * rowStride + n0, rowStride: rowStride)
                }
                #endif
            }
        }
        }
        }
    }

    /// Scalar sums for the portable path (A rows are u8 there: no widening is done).
    /// Whether sums go through the block scratch (u8 output on AVX2).
    private var blockEpilogue: Bool {
        guard isa == .avx2, case .u8 = output else { return false }
        return true
    }

    private func portableTile(_ rowPointers: [UnsafeRawPointer], n0: Int, columns: Int, bias: UnsafePointer<Int32>, _ acc: inout QTile) {
        for r in 0..<4 {
            let x = rowPointers[r].assumingMemoryBound(to: UInt8.self)
            for c in 0..<columns {
                var s: Int32 = bias[c]
                let wRow = (n0 + c) * w.k
                for j in 0..<w.k { s &+= Int32(x[j]) &* Int32(w.weights[wRow + j]) }
                acc[r, c] = s
            }
        }
    }

    private func store(_ acc: QTile, row: Int, rows: Int, n0: Int, columns: Int,
                       bias: UnsafePointer<Int32>, mult: UnsafePointer<Float>) {
        switch output {
        case let .u8(base, rowStride):
            // (AVX2 u8 output never gets here: `blockEpilogue` requantizes whole blocks.)
            for r in 0..<rows {
                for c in 0..<columns {
                    base[(row + r) * rowStride + n0 + c] = UInt8(truncatingIfNeeded: rq.requantizeScaled(acc[r, c], channel: n0 + c))
                }
            }
        case let .f32(base, rowStride, channelStride):
            // The tile's bytes are read in place (the subscript copied the 256-byte tile per
            // element); row-major float output of a whole panel is two vector stores per row.
            let fake = rq.fakeQuantize
            withUnsafeBytes(of: acc.v) { t in
                if channelStride == 1 && columns == QPackedWeights.nr {
                    let m0 = UnsafeRawPointer(mult).loadUnaligned(as: SIMD8<Float>.self)
                    let m1 = UnsafeRawPointer(mult + 8).loadUnaligned(as: SIMD8<Float>.self)
                    var add0 = SIMD8<Float>(repeating: 0), add1 = SIMD8<Float>(repeating: 0)
                    if let a = rq.addend {
                        a.withUnsafeBufferPointer { ab in
                            add0 = UnsafeRawPointer(ab.baseAddress! + n0).loadUnaligned(as: SIMD8<Float>.self)
                            add1 = UnsafeRawPointer(ab.baseAddress! + n0 + 8).loadUnaligned(as: SIMD8<Float>.self)
                        }
                    }
                    @inline(__always) func finish(_ v: SIMD8<Float>, _ add: SIMD8<Float>) -> SIMD8<Float> {
                        guard let p = fake else { return v + add }
                        return SIMD8<Float>(p.quantize8(v) &- SIMD8(repeating: p.zeroPoint)) * SIMD8(repeating: p.scale) + add
                    }
                    for r in 0..<rows {
                        let s0 = t.loadUnaligned(fromByteOffset: r &* 64, as: SIMD8<Int32>.self)
                        let s1 = t.loadUnaligned(fromByteOffset: r &* 64 &+ 32, as: SIMD8<Int32>.self)
                        let d = UnsafeMutableRawPointer(base + (row + r) * rowStride + n0)
                        d.storeBytes(of: finish(SIMD8<Float>(s0) * m0, add0), as: SIMD8<Float>.self)
                        d.storeBytes(of: finish(SIMD8<Float>(s1) * m1, add1), toByteOffset: 32, as: SIMD8<Float>.self)
                    }
                    return
                }
                for r in 0..<rows {
                    for c in 0..<columns {
                        var v = Float(t.load(fromByteOffset: (r &* 16 &+ c) &* 4, as: Int32.self)) * mult[c]
                        if let p = fake { v = p.dequantize(p.quantize(v)) }
                        if let a = rq.addend { v += a[n0 + c] }
                        base[(row + r) * rowStride + (n0 + c) * channelStride] = v
                    }
                }
            }
        }
    }
}

#if arch(x86_64)
/// The u8 epilogue over `rows` rows of one 16-channel panel: sums (bias included) at
/// sums[r·16 ..< r·16 + 16], codes to y + r·rowStride (the first `columns` of each row).
/// The activation is chosen once here, not per vector.
func storeBlockU8(_ sums: UnsafePointer<Int32>, rows: Int, columns: Int, mult: UnsafePointer<Float>, codes: QCodeRange,
                  _ y: UnsafeMutablePointer<UInt8>, rowStride: Int) {
    switch codes.activation {
    case .none: storeBlockU8(sums, rows: rows, columns: columns, mult: mult, codes: codes, IdentityVectorActivation(), scaled: false, y, rowStride: rowStride)
    case .hardSwish: storeBlockU8(sums, rows: rows, columns: columns, mult: mult, codes: codes, HardSwishVectorActivation(), scaled: true, y, rowStride: rowStride)
    case let .hardSigmoid(alpha, beta):
        storeBlockU8(sums, rows: rows, columns: columns, mult: mult, codes: codes, HardSigmoidVectorActivation(alpha: alpha, beta: beta), scaled: true,
                     y, rowStride: rowStride)
    default:
        storeBlockU8(sums, rows: rows, columns: columns, mult: mult, codes: codes, AnyVectorActivation(activation: codes.activation), scaled: true,
                     y, rowStride: rowStride)
    }
}

/// `scaled`: the activated form (dequantize, activate, divide by the output scale, clamp in
/// float); otherwise the plain clamp(round(acc · mult) + zp, low, high), saturating at each
/// pack (the same as clamping once: every bound lies inside the next). Two rows per step, so
/// one `vpackssdw`/`vpackuswb`/`vpermd` chain packs 32 codes.
@inline(__always)
func storeBlockU8<A: VectorActivation>(_ sums: UnsafePointer<Int32>, rows: Int, columns: Int, mult: UnsafePointer<Float>, codes: QCodeRange,
                                       _ act: A, scaled: Bool, _ y: UnsafeMutablePointer<UInt8>, rowStride: Int) {
    let m0 = UnsafeRawPointer(mult).loadUnaligned(as: SIMD8<Float>.self)
    let m1 = UnsafeRawPointer(mult + 8).loadUnaligned(as: SIMD8<Float>.self)
    let raw = UnsafeRawPointer(sums)
    @inline(__always) func twoRows(_ r: Int) -> __m256i {
        let r1 = min(r &+ 1, rows &- 1)  // an odd last row is packed with itself
        let a0 = raw.loadUnaligned(fromByteOffset: r &* 64, as: SIMD8<Int32>.self)
        let a1 = raw.loadUnaligned(fromByteOffset: r &* 64 &+ 32, as: SIMD8<Int32>.self)
        let b0 = raw.loadUnaligned(fromByteOffset: r1 &* 64, as: SIMD8<Int32>.self)
        let b1 = raw.loadUnaligned(fromByteOffset: r1 &* 64 &+ 32, as: SIMD8<Int32>.self)
        if scaled {
            return packCodes(codes.codes(a0, m0, act), codes.codes(a1, m1, act), codes.codes(b0, m0, act), codes.codes(b1, m1, act))
        }
        return packRequantized(roundToInt32(toFloat(a0) * m0), roundToInt32(toFloat(a1) * m1),
                               roundToInt32(toFloat(b0) * m0), roundToInt32(toFloat(b1) * m1), codes)
    }
    var r = 0
    if columns == 16 {
        while r &+ 2 <= rows {
            storeTwoRows(twoRows(r), y + r &* rowStride, y + (r &+ 1) &* rowStride, paired: false)
            r &+= 2
        }
        if r < rows {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { t in
                guard let tp = t.baseAddress else { return }
                storeTwoRows(twoRows(r), y + r &* rowStride, tp + 16, paired: false)
            }
        }
        return
    }
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { t in
        guard let tp = t.baseAddress else { return }
        while r < rows {
            storeTwoRows(twoRows(r), tp, tp + 16, paired: false)
            for c in 0..<columns { y[r &* rowStride &+ c] = tp[c] }
            if r &+ 1 < rows {
                for c in 0..<columns { y[(r &+ 1) &* rowStride &+ c] = tp[16 &+ c] }
            }
            r &+= 2
        }
    }
}

/// Two rows of 16 codes already in 0...255 (row a: a0 = channels 0–7, a1 = 8–15; row b the
/// same) packed to bytes, as `vpackssdw` + `vpackuswb` leave them: dwords a[0–3] a[8–11]
/// b[0–3] b[8–11] | a[4–7] a[12–15] b[4–7] b[12–15] (with `paired` lanes the halves hold
/// 0–3, 8–11 and 4–7, 12–15, so the same dwords hold other channels; `storeTwoRows` knows).
@inline(__always)
func packCodes(_ a0: SIMD8<Int32>, _ a1: SIMD8<Int32>, _ b0: SIMD8<Int32>, _ b1: SIMD8<Int32>) -> __m256i {
    let a = _mm256_packs_epi32(unsafeBitCast(a0, to: __m256i.self), unsafeBitCast(a1, to: __m256i.self))
    let b = _mm256_packs_epi32(unsafeBitCast(b0, to: __m256i.self), unsafeBitCast(b1, to: __m256i.self))
    return _mm256_packus_epi16(a, b)
}

/// `packCodes` of rounded, scaled sums: + zero point and the low/high clamp, saturating.
@inline(__always)
func packRequantized(_ a0: SIMD8<Int32>, _ a1: SIMD8<Int32>, _ b0: SIMD8<Int32>, _ b1: SIMD8<Int32>, _ codes: QCodeRange) -> __m256i {
    let zp = _mm256_set1_epi16(Int16(truncatingIfNeeded: codes.zeroPoint[0]))
    let a = _mm256_adds_epi16(_mm256_packs_epi32(unsafeBitCast(a0, to: __m256i.self), unsafeBitCast(a1, to: __m256i.self)), zp)
    let b = _mm256_adds_epi16(_mm256_packs_epi32(unsafeBitCast(b0, to: __m256i.self), unsafeBitCast(b1, to: __m256i.self)), zp)
    let low = _mm256_set1_epi8(Int8(truncatingIfNeeded: codes.low[0])), high = _mm256_set1_epi8(Int8(truncatingIfNeeded: codes.high[0]))
    return _mm256_min_epu8(_mm256_max_epu8(_mm256_packus_epi16(a, b), low), high)
}

/// Stores the two rows of a `packCodes` result: 16 bytes at `first` and at `second`.
/// `paired`: the sums were in the `vpunpck{l,h}wd` order (0–3, 8–11 | 4–7, 12–15).
@inline(__always)
func storeTwoRows(_ v: __m256i, _ first: UnsafeMutablePointer<UInt8>, _ second: UnsafeMutablePointer<UInt8>, paired: Bool) {
    // (`vextracti128` takes an immediate, which Swift cannot import: a second `vpermd`.)
    let orderA = paired ? _mm256_setr_epi32(0, 1, 4, 5, 0, 0, 0, 0) : _mm256_setr_epi32(0, 4, 1, 5, 0, 0, 0, 0)
    let orderB = paired ? _mm256_setr_epi32(2, 3, 6, 7, 0, 0, 0, 0) : _mm256_setr_epi32(2, 6, 3, 7, 0, 0, 0, 0)
    _mm_storeu_si128(UnsafeMutableRawPointer(first).assumingMemoryBound(to: __m128i.self), _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, orderA)))
    _mm_storeu_si128(UnsafeMutableRawPointer(second).assumingMemoryBound(to: __m128i.self), _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, orderB)))
}
#endif

/// round_half_even to Int32 (`vcvtps2dq` under the default rounding mode).
@inline(__always)
func roundToInt32(_ v: SIMD8<Float>) -> SIMD8<Int32> {
    #if arch(x86_64)
    return unsafeBitCast(_mm256_cvtps_epi32(unsafeBitCast(v, to: __m256.self)), to: SIMD8<Int32>.self)
    #else
    return SIMD8<Int32>(v.rounded(.toNearestOrEven))
    #endif
}

/// A 4 × 16 tile of s32 sums, row-major, in registers/stack (no heap).
struct QTile {
    typealias V = SIMD8<Int32>
    var v: (V, V, V, V, V, V, V, V) = (.zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero)
    subscript(r: Int, c: Int) -> Int32 {
        get { withUnsafeBytes(of: v) { $0.load(fromByteOffset: (r * 16 + c) * 4, as: Int32.self) } }
        set { withUnsafeMutableBytes(of: &v) { $0.storeBytes(of: newValue, toByteOffset: (r * 16 + c) * 4, as: Int32.self) } }
    }
}

#if arch(x86_64)
/// 4 rows × 16 channels, K in groups of 4: u8 row bytes broadcast as one dword, two
/// `vpmaddubsw` against the [16][4] weight panel step, `vpmaddwd` by ones, s32 adds.
@inline(never)
func qKernelMaddubs(_ groups: Int, _ a0: UnsafeRawPointer, _ a1: UnsafeRawPointer, _ a2: UnsafeRawPointer, _ a3: UnsafeRawPointer,
                    _ w: UnsafePointer<UInt8>, _ bias: UnsafePointer<Int32>, _ tile: inout QTile) {
    let b0 = _mm256_loadu_si256(UnsafeRawPointer(bias).assumingMemoryBound(to: __m256i.self))
    let b1 = _mm256_loadu_si256(UnsafeRawPointer(bias + 8).assumingMemoryBound(to: __m256i.self))
    var c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1
    let ones = _mm256_set1_epi16(1)
    var pw = UnsafeRawPointer(w)
    var off = 0
    for _ in 0..<groups {
        let w0 = _mm256_loadu_si256(pw.assumingMemoryBound(to: __m256i.self))
        let w1 = _mm256_loadu_si256((pw + 32).assumingMemoryBound(to: __m256i.self))
        var x = _mm256_set1_epi32(Int32(bitPattern: a0.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones))
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones))
        x = _mm256_set1_epi32(Int32(bitPattern: a1.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones))
        c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones))
        x = _mm256_set1_epi32(Int32(bitPattern: a2.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones))
        c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones))
        x = _mm256_set1_epi32(Int32(bitPattern: a3.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones))
        c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones))
        pw += 64
        off += 4
    }
    tile.v = (unsafeBitCast(c00, to: QTile.V.self), unsafeBitCast(c01, to: QTile.V.self),
              unsafeBitCast(c10, to: QTile.V.self), unsafeBitCast(c11, to: QTile.V.self),
              unsafeBitCast(c20, to: QTile.V.self), unsafeBitCast(c21, to: QTile.V.self),
              unsafeBitCast(c30, to: QTile.V.self), unsafeBitCast(c31, to: QTile.V.self))
}

/// 4 rows × 16 channels, K in pairs: s16 row pairs broadcast as one dword, `vpmaddwd` against
/// the [16][2] s16 weight panel step (exact: products ≤ 255·128, pair sums far from 2³¹).
@inline(never)
func qKernelExact(_ pairs: Int, _ a0: UnsafeRawPointer, _ a1: UnsafeRawPointer, _ a2: UnsafeRawPointer, _ a3: UnsafeRawPointer,
                  _ w: UnsafePointer<UInt8>, _ bias: UnsafePointer<Int32>, _ tile: inout QTile) {
    let b0 = _mm256_loadu_si256(UnsafeRawPointer(bias).assumingMemoryBound(to: __m256i.self))
    let b1 = _mm256_loadu_si256(UnsafeRawPointer(bias + 8).assumingMemoryBound(to: __m256i.self))
    var c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1
    var pw = UnsafeRawPointer(w)
    var off = 0
    for _ in 0..<pairs {
        let w0 = _mm256_loadu_si256(pw.assumingMemoryBound(to: __m256i.self))
        let w1 = _mm256_loadu_si256((pw + 32).assumingMemoryBound(to: __m256i.self))
        var x = _mm256_set1_epi32(Int32(bitPattern: a0.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, w0)); c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, w1))
        x = _mm256_set1_epi32(Int32(bitPattern: a1.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, w0)); c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, w1))
        x = _mm256_set1_epi32(Int32(bitPattern: a2.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, w0)); c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, w1))
        x = _mm256_set1_epi32(Int32(bitPattern: a3.loadUnaligned(fromByteOffset: off, as: UInt32.self)))
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, w0)); c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, w1))
        pw += 64
        off += 4
    }
    tile.v = (unsafeBitCast(c00, to: QTile.V.self), unsafeBitCast(c01, to: QTile.V.self),
              unsafeBitCast(c10, to: QTile.V.self), unsafeBitCast(c11, to: QTile.V.self),
              unsafeBitCast(c20, to: QTile.V.self), unsafeBitCast(c21, to: QTile.V.self),
              unsafeBitCast(c30, to: QTile.V.self), unsafeBitCast(c31, to: QTile.V.self))
}
#endif
