#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// C[6×16] = alpha · (Apanel · Bpanel) + beta · C, where Apanel is `k × 6` (6 floats per
/// depth step) and Bpanel is `k × 16` (16 floats per depth step), as `PackedMatrix` lays
/// them out. `beta == 0` never reads C, so garbage or NaN there does not leak through.
typealias MicroKernel = (_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                         _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                         _ alpha: Float, _ beta: Float) -> Void

func microKernel(for isa: KernelISA) -> MicroKernel {
    #if arch(x86_64)
    if isa == .avx2 { return microKernelAVX2 }
    #endif
    return microKernelPortable
}

/// Where depth row d of a 16-wide B panel starts: packed panels (`base + 16·d`) or rows read
/// in place (`origin + offsets[d]`, see `DirectOperand`). One kernel body serves both.
protocol PanelRows {
    func row(_ d: Int) -> UnsafePointer<Float>
}

struct PackedRows: PanelRows {
    let base: UnsafePointer<Float>
    @inline(__always) func row(_ d: Int) -> UnsafePointer<Float> { base + d * 16 }
}

struct OffsetRows: PanelRows {
    let origin: UnsafePointer<Float>
    let offsets: UnsafePointer<Int>
    @inline(__always) func row(_ d: Int) -> UnsafePointer<Float> { origin + offsets[d] }
}

/// Portable version: twelve 8-lane accumulators, multiply then add (no FMA assumed).
func microKernelPortable(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                         _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    portableTile(k, a, PackedRows(base: b), c, ldc, alpha, beta)
}

@inline(__always)
func portableTile<R: PanelRows>(_ k: Int, _ a: UnsafePointer<Float>, _ rows: R,
                                _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 12) { acc in
        acc.initialize(repeating: .zero)
        var pa = a
        for d in 0..<k {
            let pb = rows.row(d)
            let b0 = load8(pb)
            let b1 = load8(pb + 8)
            for r in 0..<6 {
                let av = SIMD8<Float>(repeating: pa[r])
                acc[2 * r] += av * b0
                acc[2 * r + 1] += av * b1
            }
            pa += 6
        }
        for r in 0..<6 {
            let row = c + r * ldc
            for h in 0..<2 {
                var v = acc[2 * r + h] * alpha
                if beta != 0 { v += load8(row + 8 * h) * beta }
                store8(v, row + 8 * h)
            }
        }
    }
}

#if arch(x86_64)
/// AVX2 + FMA version: 12 ymm accumulators, 2 for the B row, 1 for the A broadcast —
/// 15 of the 16 registers, which is why the tile is 6×16.
func microKernelAVX2(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    avx2Tile(k, a, PackedRows(base: b), c, ldc, alpha, beta)
}

@inline(__always)
func avx2Tile<R: PanelRows>(_ k: Int, _ a: UnsafePointer<Float>, _ rows: R,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    var c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps()
    var c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps()
    var c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps()
    var c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps()
    var c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps()
    var c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps()
    var pa = a
    for d in 0..<k {
        let pb = rows.row(d)
        let b0 = _mm256_loadu_ps(pb)
        let b1 = _mm256_loadu_ps(pb + 8)
        var av = _mm256_broadcast_ss(pa)
        c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01)
        av = _mm256_broadcast_ss(pa + 1)
        c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11)
        av = _mm256_broadcast_ss(pa + 2)
        c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21)
        av = _mm256_broadcast_ss(pa + 3)
        c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31)
        av = _mm256_broadcast_ss(pa + 4)
        c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41)
        av = _mm256_broadcast_ss(pa + 5)
        c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51)
        pa += 6
    }
    let va = _mm256_set1_ps(alpha)
    @inline(__always) func put(_ v: __m256, _ p: UnsafeMutablePointer<Float>) {
        if beta == 0 {
            _mm256_storeu_ps(p, _mm256_mul_ps(v, va))
        } else if beta == 1 && alpha == 1 {
            _mm256_storeu_ps(p, _mm256_add_ps(v, _mm256_loadu_ps(p)))
        } else {
            _mm256_storeu_ps(p, _mm256_fmadd_ps(v, va, _mm256_mul_ps(_mm256_loadu_ps(p), _mm256_set1_ps(beta))))
        }
    }
    put(c00, c); put(c01, c + 8)
    put(c10, c + ldc); put(c11, c + ldc + 8)
    put(c20, c + 2 * ldc); put(c21, c + 2 * ldc + 8)
    put(c30, c + 3 * ldc); put(c31, c + 3 * ldc + 8)
    put(c40, c + 4 * ldc); put(c41, c + 4 * ldc + 8)
    put(c50, c + 5 * ldc); put(c51, c + 5 * ldc + 8)
}
#endif

/// As `MicroKernel`, with B read in place: depth row d of the 16-wide panel is the 16
/// contiguous floats at `origin + offsets[d]` (see `DirectOperand`).
typealias DirectMicroKernel = (_ k: Int, _ a: UnsafePointer<Float>, _ origin: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>,
                               _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) -> Void

func directMicroKernel(for isa: KernelISA) -> DirectMicroKernel {
    #if arch(x86_64)
    if isa == .avx2 { return directMicroKernelAVX2 }
    #endif
    return directMicroKernelPortable
}

func directMicroKernelPortable(_ k: Int, _ a: UnsafePointer<Float>, _ origin: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>,
                               _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    portableTile(k, a, OffsetRows(origin: origin, offsets: offsets), c, ldc, alpha, beta)
}

#if arch(x86_64)
/// The AVX2 kernel with one extra scalar load per depth step (the row offset).
func directMicroKernelAVX2(_ k: Int, _ a: UnsafePointer<Float>, _ origin: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>,
                           _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
    avx2Tile(k, a, OffsetRows(origin: origin, offsets: offsets), c, ldc, alpha, beta)
}
#endif

#if arch(x86_64)
// MARK: - AVX2 micro-kernel with the epilogue fused in registers

/// One activation as a register-to-register map, so the fused kernel is specialised per
/// activation (the switch runs once per tile, not per vector). Lane results equal
/// `Activation.apply` (same operations in the same order; NaN propagates the same way).
protocol TileActivation {
    func callAsFunction(_ v: __m256) -> __m256
}

struct IdentityTile: TileActivation {
    @inline(__always) func callAsFunction(_ v: __m256) -> __m256 { v }
}

struct ReluTile: TileActivation {
    // max(0, v) returns v when v is NaN, like `replacing(with: 0, where: v .< 0)`.
    @inline(__always) func callAsFunction(_ v: __m256) -> __m256 { _mm256_max_ps(_mm256_setzero_ps(), v) }
}

struct ClampTile: TileActivation {
    let low: __m256, high: __m256
    init(_ low: Float, _ high: Float) { self.low = _mm256_set1_ps(low); self.high = _mm256_set1_ps(high) }
    @inline(__always) func callAsFunction(_ v: __m256) -> __m256 { _mm256_min_ps(high, _mm256_max_ps(low, v)) }
}

struct HardSwishTile: TileActivation {
    let sixth = _mm256_set1_ps(1 / 6), half = _mm256_set1_ps(0.5), one = _mm256_set1_ps(1)
    @inline(__always) func callAsFunction(_ v: __m256) -> __m256 {
        let g = _mm256_add_ps(_mm256_mul_ps(v, sixth), half)
        return _mm256_mul_ps(v, _mm256_min_ps(one, _mm256_max_ps(_mm256_setzero_ps(), g)))
    }
}

struct HardSigmoidTile: TileActivation {
    let alpha: __m256, beta: __m256, one = _mm256_set1_ps(1)
    init(_ alpha: Float, _ beta: Float) { self.alpha = _mm256_set1_ps(alpha); self.beta = _mm256_set1_ps(beta) }
    @inline(__always) func callAsFunction(_ v: __m256) -> __m256 {
        let g = _mm256_add_ps(_mm256_mul_ps(v, alpha), beta)
        return _mm256_min_ps(one, _mm256_max_ps(_mm256_setzero_ps(), g))
    }
}

struct GenericTile: TileActivation {
    let activation: Activation
    @inline(__always) func callAsFunction(_ v: __m256) -> __m256 {
        unsafeBitCast(activation.apply(unsafeBitCast(v, to: SIMD8<Float>.self)), to: __m256.self)
    }
}

/// The epilogue of a full 6×16 tile at rows i..<i+6, columns j..<j+16 of C, applied in
/// registers by `fusedMicroKernelAVX2` before the only store.
struct FusedEpilogue {
    let epilogue: Epilogue

    /// C tile = epilogue(alpha · A·B + beta · C tile) for the full tile at (i, j).
    @inline(__always)
    func run(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
             _ ldc: Int, _ alpha: Float, _ beta: Float, row i: Int, column j: Int) {
        var rowBias: UnsafePointer<Float>? = nil, columnBias: UnsafePointer<Float>? = nil
        switch epilogue.bias {
        case .none: break
        case let .perRow(p): rowBias = p + i
        case let .perColumn(p): columnBias = p + j
        }
        let residual = epilogue.residual.map { $0 + i * epilogue.residualLeadingDimension + j }
        let parts = TileParts(rowBias: rowBias, columnBias: columnBias, residual: residual,
                              residualLd: epilogue.residualLeadingDimension,
                              residualBefore: epilogue.residualBeforeActivation)
        dispatch(k, a, b, c, ldc, alpha, beta, parts)
    }

    @inline(__always)
    func dispatch(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                  _ ldc: Int, _ alpha: Float, _ beta: Float, _ parts: TileParts) {
        switch epilogue.activation {
        case .none: fusedMicroKernelAVX2(k, a, b, c, ldc, alpha, beta, parts, IdentityTile())
        case .relu: fusedMicroKernelAVX2(k, a, b, c, ldc, alpha, beta, parts, ReluTile())
        case let .clip(low, high): fusedMicroKernelAVX2(k, a, b, c, ldc, alpha, beta, parts, ClampTile(low, high))
        case .hardSwish: fusedMicroKernelAVX2(k, a, b, c, ldc, alpha, beta, parts, HardSwishTile())
        case let .hardSigmoid(al, be): fusedMicroKernelAVX2(k, a, b, c, ldc, alpha, beta, parts, HardSigmoidTile(al, be))
        case .sigmoid: fusedMicroKernelAVX2(k, a, b, c, ldc, alpha, beta, parts, GenericTile(activation: epilogue.activation))
        }
    }
}

extension FusedEpilogue {
    /// Floats of scratch `runEdge` needs.
    static let edgeScratch = 2 * Tile.mr * Tile.nr + Tile.mr + Tile.nr

    /// An edge tile (`rows` ≤ 6, `columns` ≤ 16 valid): the same fused kernel on a full
    /// scratch tile whose bias, residual and old C are copied in (zeros past the edge),
    /// then the valid part copied out. `scratch` holds `edgeScratch` floats.
    func runEdge(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                 _ ldc: Int, _ alpha: Float, _ beta: Float, row i: Int, column j: Int, rows: Int, columns: Int,
                 scratch: UnsafeMutablePointer<Float>) {
        let tile = scratch, residualTile = scratch + Tile.mr * Tile.nr
        let biasRows = residualTile + Tile.mr * Tile.nr, biasColumns = biasRows + Tile.mr
        let n = Tile.nr
        tile.update(repeating: 0, count: Tile.mr * n)
        if beta != 0 {
            for r in 0..<rows { for x in 0..<columns { tile[r * n + x] = c[r * ldc + x] } }
        }
        var rowBias: UnsafePointer<Float>? = nil, columnBias: UnsafePointer<Float>? = nil
        switch epilogue.bias {
        case .none: break
        case let .perRow(p):
            biasRows.update(repeating: 0, count: Tile.mr)
            biasRows.update(from: p + i, count: rows)
            rowBias = UnsafePointer(biasRows)
        case let .perColumn(p):
            biasColumns.update(repeating: 0, count: n)
            biasColumns.update(from: p + j, count: columns)
            columnBias = UnsafePointer(biasColumns)
        }
        var residual: UnsafePointer<Float>? = nil
        if let base = epilogue.residual {
            let ld = epilogue.residualLeadingDimension
            residualTile.update(repeating: 0, count: Tile.mr * n)
            for r in 0..<rows { for x in 0..<columns { residualTile[r * n + x] = base[(i + r) * ld + j + x] } }
            residual = UnsafePointer(residualTile)
        }
        let parts = TileParts(rowBias: rowBias, columnBias: columnBias, residual: residual, residualLd: n,
                              residualBefore: epilogue.residualBeforeActivation)
        dispatch(k, a, b, tile, n, alpha, beta, parts)
        // Element loops, not update(from:): these rows are ≤ 16 floats and memmove's call
        // overhead showed in profiles.
        for r in 0..<rows { for x in 0..<columns { c[r * ldc + x] = tile[r * n + x] } }
    }
}

struct TileParts {
    let rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?
    let residual: UnsafePointer<Float>?, residualLd: Int
    let residualBefore: Bool
}

/// `microKernelAVX2`, then per row: (+ row bias) (+ column bias) (+ residual before),
/// activation, (+ residual after), in the order `Epilogue.apply` uses, and one store.
@inline(never)
func fusedMicroKernelAVX2<Act: TileActivation>(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                               _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                                               _ alpha: Float, _ beta: Float, _ parts: TileParts, _ act: Act) {
    var c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps()
    var c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps()
    var c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps()
    var c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps()
    var c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps()
    var c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps()
    var pa = a
    var pb = b
    for _ in 0..<k {
        let b0 = _mm256_loadu_ps(pb)
        let b1 = _mm256_loadu_ps(pb + 8)
        var av = _mm256_broadcast_ss(pa)
        c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01)
        av = _mm256_broadcast_ss(pa + 1)
        c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11)
        av = _mm256_broadcast_ss(pa + 2)
        c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21)
        av = _mm256_broadcast_ss(pa + 3)
        c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31)
        av = _mm256_broadcast_ss(pa + 4)
        c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41)
        av = _mm256_broadcast_ss(pa + 5)
        c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51)
        pa += 6
        pb += 16
    }
    // Straight-line, one branch per step for all 12 registers (a per-vector branchy store
    // costs as much as the whole depth loop when K is small).
    if beta == 0 {
        if alpha != 1 {
            let va = _mm256_set1_ps(alpha)
            c00 = _mm256_mul_ps(c00, va); c01 = _mm256_mul_ps(c01, va)
            c10 = _mm256_mul_ps(c10, va); c11 = _mm256_mul_ps(c11, va)
            c20 = _mm256_mul_ps(c20, va); c21 = _mm256_mul_ps(c21, va)
            c30 = _mm256_mul_ps(c30, va); c31 = _mm256_mul_ps(c31, va)
            c40 = _mm256_mul_ps(c40, va); c41 = _mm256_mul_ps(c41, va)
            c50 = _mm256_mul_ps(c50, va); c51 = _mm256_mul_ps(c51, va)
        }
    } else {
        let va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta)
        let plain = beta == 1 && alpha == 1
        @inline(__always) func merge(_ v: __m256, _ p: UnsafeMutablePointer<Float>) -> __m256 {
            plain ? _mm256_add_ps(v, _mm256_loadu_ps(p)) : _mm256_fmadd_ps(v, va, _mm256_mul_ps(_mm256_loadu_ps(p), vb))
        }
        c00 = merge(c00, c); c01 = merge(c01, c + 8)
        c10 = merge(c10, c + ldc); c11 = merge(c11, c + ldc + 8)
        c20 = merge(c20, c + 2 * ldc); c21 = merge(c21, c + 2 * ldc + 8)
        c30 = merge(c30, c + 3 * ldc); c31 = merge(c31, c + 3 * ldc + 8)
        c40 = merge(c40, c + 4 * ldc); c41 = merge(c41, c + 4 * ldc + 8)
        c50 = merge(c50, c + 5 * ldc); c51 = merge(c51, c + 5 * ldc + 8)
    }
    if let rb = parts.rowBias {
        var v = _mm256_broadcast_ss(rb)
        c00 = _mm256_add_ps(c00, v); c01 = _mm256_add_ps(c01, v)
        v = _mm256_broadcast_ss(rb + 1)
        c10 = _mm256_add_ps(c10, v); c11 = _mm256_add_ps(c11, v)
        v = _mm256_broadcast_ss(rb + 2)
        c20 = _mm256_add_ps(c20, v); c21 = _mm256_add_ps(c21, v)
        v = _mm256_broadcast_ss(rb + 3)
        c30 = _mm256_add_ps(c30, v); c31 = _mm256_add_ps(c31, v)
        v = _mm256_broadcast_ss(rb + 4)
        c40 = _mm256_add_ps(c40, v); c41 = _mm256_add_ps(c41, v)
        v = _mm256_broadcast_ss(rb + 5)
        c50 = _mm256_add_ps(c50, v); c51 = _mm256_add_ps(c51, v)
    }
    if let cb = parts.columnBias {
        let v0 = _mm256_loadu_ps(cb), v1 = _mm256_loadu_ps(cb + 8)
        c00 = _mm256_add_ps(c00, v0); c01 = _mm256_add_ps(c01, v1)
        c10 = _mm256_add_ps(c10, v0); c11 = _mm256_add_ps(c11, v1)
        c20 = _mm256_add_ps(c20, v0); c21 = _mm256_add_ps(c21, v1)
        c30 = _mm256_add_ps(c30, v0); c31 = _mm256_add_ps(c31, v1)
        c40 = _mm256_add_ps(c40, v0); c41 = _mm256_add_ps(c41, v1)
        c50 = _mm256_add_ps(c50, v0); c51 = _mm256_add_ps(c51, v1)
    }
    @inline(__always) func addResidual(_ r: UnsafePointer<Float>) {
        let ld = parts.residualLd
        c00 = _mm256_add_ps(c00, _mm256_loadu_ps(r)); c01 = _mm256_add_ps(c01, _mm256_loadu_ps(r + 8))
        c10 = _mm256_add_ps(c10, _mm256_loadu_ps(r + ld)); c11 = _mm256_add_ps(c11, _mm256_loadu_ps(r + ld + 8))
        c20 = _mm256_add_ps(c20, _mm256_loadu_ps(r + 2 * ld)); c21 = _mm256_add_ps(c21, _mm256_loadu_ps(r + 2 * ld + 8))
        c30 = _mm256_add_ps(c30, _mm256_loadu_ps(r + 3 * ld)); c31 = _mm256_add_ps(c31, _mm256_loadu_ps(r + 3 * ld + 8))
        c40 = _mm256_add_ps(c40, _mm256_loadu_ps(r + 4 * ld)); c41 = _mm256_add_ps(c41, _mm256_loadu_ps(r + 4 * ld + 8))
        c50 = _mm256_add_ps(c50, _mm256_loadu_ps(r + 5 * ld)); c51 = _mm256_add_ps(c51, _mm256_loadu_ps(r + 5 * ld + 8))
    }
    if let r = parts.residual, parts.residualBefore { addResidual(r) }
    c00 = act(c00); c01 = act(c01)
    c10 = act(c10); c11 = act(c11)
    c20 = act(c20); c21 = act(c21)
    c30 = act(c30); c31 = act(c31)
    c40 = act(c40); c41 = act(c41)
    c50 = act(c50); c51 = act(c51)
    if let r = parts.residual, !parts.residualBefore { addResidual(r) }
    _mm256_storeu_ps(c, c00); _mm256_storeu_ps(c + 8, c01)
    _mm256_storeu_ps(c + ldc, c10); _mm256_storeu_ps(c + ldc + 8, c11)
    _mm256_storeu_ps(c + 2 * ldc, c20); _mm256_storeu_ps(c + 2 * ldc + 8, c21)
    _mm256_storeu_ps(c + 3 * ldc, c30); _mm256_storeu_ps(c + 3 * ldc + 8, c31)
    _mm256_storeu_ps(c + 4 * ldc, c40); _mm256_storeu_ps(c + 4 * ldc + 8, c41)
    _mm256_storeu_ps(c + 5 * ldc, c50); _mm256_storeu_ps(c + 5 * ldc + 8, c51)
}
#endif
