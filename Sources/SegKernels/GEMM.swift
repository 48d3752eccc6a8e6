#if arch(x86_64)
import SegKernelsVNNI
#endif

// MARK: - Public entry points

/// C[M×N] = alpha · A[M×K] · B[K×N] + beta · C, then `epilogue` (bias, activation,
/// residual) on each tile while it is in cache. Row-major with leading dimensions;
/// `transposeA` / `transposeB` mean the memory holds Aᵀ (K×M) / Bᵀ (N×K).
/// `beta == 0` never reads C. Parallel over the context's pool.
package func sgemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                  a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                  b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                  epilogue: Epilogue = .none, context: KernelContext = .shared) throws(KernelError) {
    try validate(m: m, n: n, k: k, ldc: ldc)
    try require(lda >= max(1, transposeA ? m : k), "lda", lda, "must be ≥ \(transposeA ? "M" : "K")")
    try require(ldb >= max(1, transposeB ? k : n), "ldb", ldb, "must be ≥ \(transposeB ? "K" : "N")")
    let aOperand = StridedOperand(base: a, outerStride: transposeA ? 1 : lda, depthStride: transposeA ? lda : 1)
    let bOperand = StridedOperand(base: b, outerStride: transposeB ? ldb : 1, depthStride: transposeB ? 1 : ldb)
    GemmDriver(m: m, n: n, k: k, a: .strided(aOperand), b: .strided(bOperand), alpha: alpha, beta: beta,
               c: c, ldc: ldc, epilogue: epilogue, context: context).run()
}

/// As `sgemm`, with A pre-packed (`PackedMatrix(a:…)`, M = `packedA.outer`,
/// K = `packedA.depth`): the conv weights · activations case.
package func sgemm(packedA: PackedMatrix, n: Int, alpha: Float = 1,
                  b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                  epilogue: Epilogue = .none, context: KernelContext = .shared) throws(KernelError) {
    try require(packedA.role == .a, "packedA", "a B-packed matrix", "must be packed with PackedMatrix(a:)")
    try validate(m: packedA.outer, n: n, k: packedA.depth, ldc: ldc)
    try require(ldb >= (transposeB ? packedA.depth : n), "ldb", ldb, "must be ≥ \(transposeB ? "K" : "N")")
    let bOperand = StridedOperand(base: b, outerStride: transposeB ? ldb : 1, depthStride: transposeB ? 1 : ldb)
    GemmDriver(m: packedA.outer, n: n, k: packedA.depth, a: .packed(packedA), b: .strided(bOperand),
               alpha: alpha, beta: beta, c: c, ldc: ldc, epilogue: epilogue, context: context).run()
}

/// As `sgemm`, with B pre-packed (`PackedMatrix(b:…)`, K = `packedB.depth`,
/// N = `packedB.outer`): the fully-connected / MatMul-with-constant-weights case.
package func sgemm(m: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                  packedB: PackedMatrix, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                  epilogue: Epilogue = .none, context: KernelContext = .shared) throws(KernelError) {
    try require(packedB.role == .b, "packedB", "an A-packed matrix", "must be packed with PackedMatrix(b:)")
    try validate(m: m, n: packedB.outer, k: packedB.depth, ldc: ldc)
    try require(lda >= (transposeA ? m : packedB.depth), "lda", lda, "must be ≥ \(transposeA ? "M" : "K")")
    let aOperand = StridedOperand(base: a, outerStride: transposeA ? 1 : lda, depthStride: transposeA ? lda : 1)
    GemmDriver(m: m, n: packedB.outer, k: packedB.depth, a: .strided(aOperand), b: .packed(packedB),
               alpha: alpha, beta: beta, c: c, ldc: ldc, epilogue: epilogue, context: context).run()
}

private func validate(m: Int, n: Int, k: Int, ldc: Int) throws(KernelError) {
    try require(m >= 0, "M", m, "must be ≥ 0")
    try require(n >= 0, "N", n, "must be ≥ 0")
    try require(k >= 0, "K", k, "must be ≥ 0")
    try require(ldc >= max(1, n), "ldc", ldc, "must be ≥ N")
}

// MARK: - Driver

/// Blocking (BLIS-style, written for this layout): tasks own a block of N columns (at most
/// `ncMax`, so the packed B block — kc × nc floats, 512 KiB — sits in L2) and a range of M
/// rows. Inside a task: for each depth block, pack B once, then for each `mc` rows of A
/// (in L2), for each 16-column B panel (in L1), for each 6-row A panel: one micro-kernel.
struct GemmDriver {
    let m: Int, n: Int, k: Int
    let a: GemmA, b: GemmB
    let alpha: Float, beta: Float
    let c: UnsafeMutablePointer<Float>, ldc: Int
    let epilogue: Epilogue
    let context: KernelContext

    static let ncMax = 512
    static let mc = 120
    /// Up to this depth, on outputs of at least `largeOutputFloats` (past what L2 and the
    /// L3 share hold), the tile loops run A panels outer, B panels inner (see `runTask`). On
    /// smaller outputs the usual order wins: its B panel stays in L1 across the A panels.
    static let shallowDepth = 64
    static let largeOutputFloats = 2 << 20

    func run() {
        if m == 0 || n == 0 { return }
        if k == 0 { return scaleOnly() }
        let threads = context.pool.threadCount
        let nPanels = (n + Tile.nr - 1) / Tile.nr
        var nBlocks = (n + Self.ncMax - 1) / Self.ncMax
        var mParts = 1
        if nBlocks < threads {
            // Prefer splitting N (each thread packs only its own B); fall back to M when
            // N is too narrow for every thread to get a few panels.
            if nPanels >= 3 * threads { nBlocks = threads } else { mParts = min(threads, (m + Tile.mr - 1) / Tile.mr) }
        }
        let panelsPerBlock = (nPanels + nBlocks - 1) / nBlocks
        nBlocks = (nPanels + panelsPerBlock - 1) / panelsPerBlock
        let mTiles = (m + Tile.mr - 1) / Tile.mr
        let kernel = microKernel(for: context.isa)
        context.pool.parallelFor(nBlocks * mParts) { tasks in
            for task in tasks {
                let nb = task % nBlocks, mp = task / nBlocks
                let n0 = nb * panelsPerBlock * Tile.nr
                let n1 = min(n, n0 + panelsPerBlock * Tile.nr)
                let m0 = mp * mTiles / mParts * Tile.mr
                let m1 = min(m, (mp + 1) * mTiles / mParts * Tile.mr)
                if n0 < n1 && m0 < m1 { runTask(rows: m0..<m1, columns: n0..<n1, kernel: kernel) }
            }
        }
    }

    /// Rows `rows` of C (starting on a six-row panel, or ending at M), every column, on the
    /// calling thread: for callers that split M over the pool themselves.
    func runRows(_ rows: Range<Int>) {
        if rows.isEmpty || n == 0 { return }
        if k == 0 { return scaleOnly(rows: rows) }
        runTask(rows: rows, columns: 0..<n, kernel: microKernel(for: context.isa))
    }

    private func runTask(rows: Range<Int>, columns: Range<Int>, kernel: MicroKernel) {
        let ncPad = (columns.count + Tile.nr - 1) / Tile.nr * Tile.nr
        let kcMax = min(Tile.kc, k)
        let bFloats: Int
        if case .packed = b { bFloats = 0 } else { bFloats = kcMax * ncPad }
        let aFloats: Int
        if case .packed = a { aFloats = 0 } else { aFloats = kcMax * Self.mc }
        #if arch(x86_64)
        let fused = context.isa == .avx2 && !epilogue.isIdentity ? FusedEpilogue(epilogue: epilogue) : nil
        #endif
        #if arch(x86_64)
        let edgeFloats = fused == nil ? 0 : FusedEpilogue.edgeScratch
        #else
        let edgeFloats = 0
        #endif
        // Only trivially copyable parts in the panel loop (the operand's fallback holds class
        // references, and copying it per panel cost 6% in retain/release).
        // (Separate values, not an optional tuple: Swift handled that through generic
        // witnesses, 3% of a MobileNet's time.)
        var directGeometry: DirectOperand.Geometry? = nil
        var directOffsets: UnsafePointer<Int>? = nil
        if case let .direct(op) = b { directGeometry = op.geometry; directOffsets = op.offsets }
        let rowsOuter = directGeometry == nil && k <= Self.shallowDepth && m * n >= Self.largeOutputFloats
        // Full tiles on the AVX-512 kernels (12×32, 12×16, leftover rows 6×32) where the CPU has
        // them (`SEGSLIM_GEMM_AVX512=0`: the 6×16 AVX2 tile throughout).
        let wideTiles = context.isa == .avx2 && KernelISA.hasVNNI && context.options.gemmAVX512
        #if arch(x86_64)
        // Their epilogue in registers where the AVX-512 code has the activation (one store per
        // vector; the second pass over each tile was a seventh of a 256→512 pointwise conv).
        var zmmEpilogue: PointwiseAVX512Epilogue? = nil
        if wideTiles, !epilogue.isIdentity {
            var rowBias: UnsafePointer<Float>? = nil, perRow = true
            switch epilogue.bias {
            case .none: break
            case let .perRow(b): rowBias = b
            case .perColumn: perRow = false
            }
            if perRow {
                zmmEpilogue = PointwiseAVX512Epilogue(epilogue.activation, bias: rowBias, residual: epilogue.residual,
                                                      residualStride: epilogue.residualLeadingDimension,
                                                      residualBefore: epilogue.residualBeforeActivation)
            }
        }
        #endif
        let directKernel = directMicroKernel(for: context.isa)
        withUnsafeTemporaryAllocation(byteCount: (aFloats + bFloats + 2 * Tile.mr * Tile.nr + edgeFloats) * 4 + 64, alignment: 64) { raw in
            let scratch = raw.baseAddress!.assumingMemoryBound(to: Float.self)
            let aScratch = scratch, bScratch = scratch + aFloats, tile = bScratch + bFloats
            var k0 = 0
            while k0 < k {
                let kc = min(Tile.kc, k - k0)
                let depth = k0..<(k0 + kc)
                let bPanels: UnsafePointer<Float>
                switch b {
                case let .packed(packed): bPanels = packed.panels(k0: k0, outerStart: columns.lowerBound, kc: kc)
                case let .strided(op): op.pack(outer: columns, depth: depth, width: Tile.nr, into: bScratch); bPanels = UnsafePointer(bScratch)
                case let .im2col(op): op.pack(columns: columns, depth: depth, into: bScratch); bPanels = UnsafePointer(bScratch)
                case let .direct(op): op.packIndirectPanels(columns: columns, depth: depth, into: bScratch); bPanels = UnsafePointer(bScratch)
                }
                let betaNow = k0 == 0 ? beta : 1
                let last = k0 + kc == k
                #if arch(x86_64)
                /// The in-register epilogue of the wide tile at row i, column j (after the last
                /// depth block), or nil: then `epilogue.apply` follows the tile.
                func zmmTileEpilogue(_ i: Int, _ j: Int) -> PointwiseAVX512Epilogue? {
                    guard last, var e = zmmEpilogue else { return nil }
                    e.bias = e.bias.map { $0 + i }
                    e.residual = e.residual.map { $0 + i * e.residualStride + j }
                    return e
                }
                #endif
                var i0 = rows.lowerBound
                while i0 < rows.upperBound {
                    let i1 = min(rows.upperBound, i0 + Self.mc)
                    let aPanels: UnsafePointer<Float>
                    switch a {
                    case let .packed(packed): aPanels = packed.panels(k0: k0, outerStart: i0, kc: kc)
                    case let .strided(op): op.pack(outer: i0..<i1, depth: depth, width: Tile.mr, into: aScratch); aPanels = UnsafePointer(aScratch)
                    }
                    /// One 6×16 tile (or an edge part of one) of C from packed panels.
                    @inline(__always) func packedTile(_ i: Int, _ j: Int) {
                        let bp = bPanels + (j - columns.lowerBound) * kc
                        let nr = min(Tile.nr, columns.upperBound - j), mr = min(Tile.mr, i1 - i)
                        let ap = aPanels + (i - i0) * kc
                        let cTile = c + i * ldc + j
                        if mr == Tile.mr && nr == Tile.nr {
                            #if arch(x86_64)
                            if last, let fused {
                                // Epilogue applied in registers: one store, no second pass.
                                fused.run(kc, ap, bp, cTile, ldc, alpha, betaNow, row: i, column: j)
                                return
                            }
                            #endif
                            kernel(kc, ap, bp, cTile, ldc, alpha, betaNow)
                        } else {
                            #if arch(x86_64)
                            if last, let fused {
                                fused.runEdge(kc, ap, bp, cTile, ldc, alpha, betaNow, row: i, column: j,
                                              rows: mr, columns: nr, scratch: tile + 2 * Tile.mr * Tile.nr)
                                return
                            }
                            #endif
                            kernel(kc, ap, bp, tile, Tile.nr, alpha, 0)
                            merge(tile, into: cTile, rows: mr, columns: nr, beta: betaNow)
                        }
                        if last { epilogue.apply(c: c, ldc: ldc, rows: i..<(i + mr), columns: j..<(j + nr)) }
                    }
                    if rowsOuter {
                        // Shallow products with a large output (a pointwise conv from 16-64
                        // channels on a 180×240 map):
                        // each 6-row A panel sweeps the whole B block, so C is written as six
                        // long row streams instead of one cache line in each of `mc` rows per
                        // B panel, which left the stores waiting on memory (1.9× slower at
                        // 16→64 channels over 180×240 pixels).
                        var i = i0
                        while i < i1 {
                            var j = columns.lowerBound
                            while j < columns.upperBound { packedTile(i, j); j += Tile.nr }
                            i += Tile.mr
                        }
                        i0 = i1
                        continue
                    }
                    var j = columns.lowerBound
                    while j < columns.upperBound {
                        let nr = min(Tile.nr, columns.upperBound - j)
                        if nr == Tile.nr, let directGeometry, let directOffsets, let origin = directGeometry.origin(column: j) {
                            // B read in place; the epilogue in the 512-bit tiles' registers, else a
                            // second pass over the tile while it is in L1.
                            let offsets = directOffsets + k0
                            /// Rows `from..<i1` of the 16 columns at `column` on the 6×16 tiles.
                            func sixRowTiles(from start: Int, origin: UnsafePointer<Float>, column: Int) {
                                var i = start
                                while i < i1 {
                                    let mr = min(Tile.mr, i1 - i)
                                    let ap = aPanels + (i - i0) * kc
                                    let cTile = c + i * ldc + column
                                    if mr == Tile.mr {
                                        directKernel(kc, ap, origin, offsets, cTile, ldc, alpha, betaNow)
                                    } else {
                                        directKernel(kc, ap, origin, offsets, tile, Tile.nr, alpha, 0)
                                        merge(tile, into: cTile, rows: mr, columns: Tile.nr, beta: betaNow)
                                    }
                                    if last { epilogue.apply(c: c, ldc: ldc, rows: i..<(i + mr), columns: column..<(column + Tile.nr)) }
                                    i += Tile.mr
                                }
                            }
                            var i = i0
                            #if arch(x86_64)
                            if wideTiles {
                                // Pairs of A panels on the 512-bit tiles, over 32 columns where the
                                // next 16 can be read in place too.
                                let second = j + 2 * Tile.nr <= columns.upperBound ? directGeometry.origin(column: j + Tile.nr) : nil
                                let width = second == nil ? Tile.nr : 2 * Tile.nr
                                while i + 2 * Tile.mr <= i1 {
                                    let ap = aPanels + (i - i0) * kc, cTile = c + i * ldc + j
                                    if let second {
                                        let fused = zmmTileEpilogue(i, j)
                                        directTile12x32AVX512(kc, ap, ap + Tile.mr * kc, origin, second, offsets, cTile, ldc, alpha, betaNow, fused)
                                        if last && fused == nil { epilogue.apply(c: c, ldc: ldc, rows: i..<(i + 2 * Tile.mr), columns: j..<(j + width)) }
                                    } else {
                                        directTile12x16AVX512(kc, ap, ap + Tile.mr * kc, origin, offsets, cTile, ldc, alpha, betaNow)
                                        if last { epilogue.apply(c: c, ldc: ldc, rows: i..<(i + 2 * Tile.mr), columns: j..<(j + width)) }
                                    }
                                    i += 2 * Tile.mr
                                }
                                if let second {
                                    if i + Tile.mr <= i1 {
                                        let ap = aPanels + (i - i0) * kc
                                        let fused = zmmTileEpilogue(i, j)
                                        directTile6x32AVX512(kc, ap, origin, second, offsets, c + i * ldc + j, ldc, alpha, betaNow, fused)
                                        if last && fused == nil { epilogue.apply(c: c, ldc: ldc, rows: i..<(i + Tile.mr), columns: j..<(j + 2 * Tile.nr)) }
                                        i += Tile.mr
                                    }
                                    if i < i1 {
                                        let ap = aPanels + (i - i0) * kc, cTile = c + i * ldc + j
                                        directTile6x32AVX512(kc, ap, origin, second, offsets, tile, 2 * Tile.nr, alpha, 0)
                                        merge(tile, stride: 2 * Tile.nr, into: cTile, rows: i1 - i, columns: Tile.nr, beta: betaNow)
                                        merge(tile + Tile.nr, stride: 2 * Tile.nr, into: cTile + Tile.nr, rows: i1 - i, columns: Tile.nr, beta: betaNow)
                                        if last { epilogue.apply(c: c, ldc: ldc, rows: i..<i1, columns: j..<(j + 2 * Tile.nr)) }
                                    }
                                    j += 2 * Tile.nr
                                    continue
                                }
                            }
                            #endif
                            sixRowTiles(from: i, origin: origin, column: j)
                            j += Tile.nr
                            continue
                        }
                        var i = i0
                        #if arch(x86_64)
                        if wideTiles && j + 2 * Tile.nr <= columns.upperBound && directGeometry == nil {
                            // Two B panels under pairs of A panels: fourteen loads per twenty-four
                            // FMAs; the rows left over on the 6×32 tile.
                            let bp = bPanels + (j - columns.lowerBound) * kc
                            while i + 2 * Tile.mr <= i1 {
                                let ap = aPanels + (i - i0) * kc
                                let fused = zmmTileEpilogue(i, j)
                                gemmTile12x32AVX512(kc, ap, ap + Tile.mr * kc, bp, bp + Tile.nr * kc, c + i * ldc + j, ldc, alpha, betaNow, fused)
                                if last && fused == nil { epilogue.apply(c: c, ldc: ldc, rows: i..<(i + 2 * Tile.mr), columns: j..<(j + 2 * Tile.nr)) }
                                i += 2 * Tile.mr
                            }
                            if i + Tile.mr <= i1 {
                                let ap = aPanels + (i - i0) * kc
                                let fused = zmmTileEpilogue(i, j)
                                gemmTile6x32AVX512(kc, ap, bp, bp + Tile.nr * kc, c + i * ldc + j, ldc, alpha, betaNow, fused)
                                if last && fused == nil { epilogue.apply(c: c, ldc: ldc, rows: i..<(i + Tile.mr), columns: j..<(j + 2 * Tile.nr)) }
                                i += Tile.mr
                            }
                            if i < i1 {
                                // A partial panel (M not a multiple of 6): the 6×32 tile into
                                // scratch, its valid rows merged.
                                let ap = aPanels + (i - i0) * kc, cTile = c + i * ldc + j
                                gemmTile6x32AVX512(kc, ap, bp, bp + Tile.nr * kc, tile, 2 * Tile.nr, alpha, 0)
                                merge(tile, stride: 2 * Tile.nr, into: cTile, rows: i1 - i, columns: Tile.nr, beta: betaNow)
                                merge(tile + Tile.nr, stride: 2 * Tile.nr, into: cTile + Tile.nr, rows: i1 - i, columns: Tile.nr, beta: betaNow)
                                if last { epilogue.apply(c: c, ldc: ldc, rows: i..<i1, columns: j..<(j + 2 * Tile.nr)) }
                            }
                            j += 2 * Tile.nr
                            continue
                        }
                        if wideTiles && nr == Tile.nr {
                            // Pairs of A panels on the 512-bit tile; the epilogue is a second pass
                            // over the tile while it is in L1.
                            let bp = bPanels + (j - columns.lowerBound) * kc
                            while i + 2 * Tile.mr <= i1 {
                                let ap = aPanels + (i - i0) * kc
                                gemmTile12x16AVX512(kc, ap, ap + Tile.mr * kc, bp, c + i * ldc + j, ldc, alpha, betaNow)
                                if last { epilogue.apply(c: c, ldc: ldc, rows: i..<(i + 2 * Tile.mr), columns: j..<(j + Tile.nr)) }
                                i += 2 * Tile.mr
                            }
                        }
                        #endif
                        while i < i1 { packedTile(i, j); i += Tile.mr }
                        j += Tile.nr
                    }
                    i0 = i1
                }
                k0 += kc
            }
        }
    }

    /// Edge tiles: the kernel wrote alpha·A·B into a full 6×16 scratch tile.
    private func merge(_ tile: UnsafeMutablePointer<Float>, stride: Int = Tile.nr, into cTile: UnsafeMutablePointer<Float>,
                       rows: Int, columns: Int, beta: Float) {
        if columns == Tile.nr {
            // Full-width edge tiles (M not a multiple of 6: every conv with 16, 40 or 112
            // output channels) are common at high resolution: two vectors per row.
            let b8 = SIMD8<Float>(repeating: beta)
            for r in 0..<rows {
                let src = tile + r * stride, dst = cTile + r * ldc
                if beta == 0 {
                    store8(load8(src), dst); store8(load8(src + 8), dst + 8)
                } else {
                    store8(load8(src) + b8 * load8(dst), dst); store8(load8(src + 8) + b8 * load8(dst + 8), dst + 8)
                }
            }
            return
        }
        for r in 0..<rows {
            for j in 0..<columns {
                let v = tile[r * stride + j]
                cTile[r * ldc + j] = beta == 0 ? v : v + beta * cTile[r * ldc + j]
            }
        }
    }

    /// K = 0: the product is empty, so C = beta · C, then the epilogue.
    private func scaleOnly(rows: Range<Int>? = nil) {
        let rows = rows ?? 0..<m
        for i in rows {
            for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
        }
        epilogue.apply(c: c, ldc: ldc, rows: rows, columns: 0..<n)
    }
}
