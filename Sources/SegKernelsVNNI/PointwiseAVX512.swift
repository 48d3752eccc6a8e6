// The FP32 pointwise (1×1) conv kernel for few input channels, on 512-bit vectors. Like the
// INT8 kernel beside it, it may only run after SegKernels' run-time check (`KernelISA.hasVNNI`,
// which includes AVX512F/VL and the OS-enabled ZMM state).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// How `pointwiseRowsAVX512` finds its input rows.
package enum PointwiseAVX512Layout: Sendable {
    case planes, panels
}

/// What the pointwise kernel applies to each sum before its one store, in the order of
/// SegKernels' `Epilogue`: v = sum (+ old output if `accumulate`) + bias, (+ residual before),
/// activation, (+ residual after).
package struct PointwiseAVX512Epilogue {
    /// 0 none, 1 ReLU, 2 clip(p0, p1), 3 HardSwish, 4 HardSigmoid(alpha p0, beta p1).
    package var activation: Int32
    package var p0: Float, p1: Float
    /// One bias per output row (channel), or nil.
    package var bias: UnsafePointer<Float>?
    /// Shaped like the output rows (row r at `residual + r·residualStride`), or nil.
    package var residual: UnsafePointer<Float>?
    package var residualStride: Int
    package var residualBefore: Bool
    /// Adds the output's old values to the sums (a residual that is the output itself).
    package var accumulate: Bool

    package init(activation: Int32, p0: Float, p1: Float, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                 residualStride: Int, residualBefore: Bool, accumulate: Bool) {
        self.activation = activation
        self.p0 = p0
        self.p1 = p1
        self.bias = bias
        self.residual = residual
        self.residualStride = residualStride
        self.residualBefore = residualBefore
        self.accumulate = accumulate
    }
}

/// Eight output rows (channels) × `columns` pixels of a 1×1 conv on NCHW planes, read and
/// written in place: output[r][j] = Σ_d w[r][d] · x[d][j], d < `depth`, with input row d at
/// `x + d·xStride`, weight row r at `w + r·depth`, output row r at `c + r·cStride`.
/// `layout` says where pixels j…j+31 of row d are: `.planes` reads them as above; `.panels`
/// reads B packed as 16-column panels of `depth` rows (`PackedMatrix`'s B layout, im2col of
/// an implicit-GEMM conv): pixel j of row d at `x + (j / 16)·16·depth + d·16 + j % 16`.
/// With `offsets`, neither: pixel j of row d is at `x + j + offsets[d]` (an implicit-GEMM conv's
/// input read in place along one output row, every tap inside the image).
///
/// Rows past `rows` (1...8) are computed from a copy of the last weight row and not stored.
/// Pixels go 32 at a time (two vectors per row: 16 accumulators), the last block under a
/// mask, so nothing past `columns` is read or written. Each input vector feeds eight FMAs
/// whose weights come broadcast from L1; the sums for a depth step are in order d = 0, 1, …,
/// as the packed GEMM's micro-kernel adds them, so results match it bit for bit.
@inline(never)
package func pointwiseRowsAVX512(_ depth: Int, _ rows: Int, _ columns: Int,
                                 _ x: UnsafePointer<Float>, _ xStride: Int, _ layout: PointwiseAVX512Layout,
                                 _ w: UnsafePointer<Float>,
                                 _ c: UnsafeMutablePointer<Float>, _ cStride: Int,
                                 _ e: PointwiseAVX512Epilogue, offsets: UnsafePointer<Int>? = nil) {
    let last = rows - 1
    let w0 = w, w1 = w + min(1, last) * depth, w2 = w + min(2, last) * depth, w3 = w + min(3, last) * depth
    let w4 = w + min(4, last) * depth, w5 = w + min(5, last) * depth, w6 = w + min(6, last) * depth, w7 = w + min(7, last) * depth
    let zero = _mm512_setzero_ps()
    // Distance to the second 16 pixels, and from one depth row to the next.
    let second = layout == .planes ? 16 : 16 * depth, rowStep = layout == .planes ? xStride : 16
    var j = 0
    while j < columns {
        let remaining = columns - j
        let m0: __mmask16 = remaining >= 16 ? 0xFFFF : __mmask16((1 << remaining) - 1)
        let m1: __mmask16 = remaining >= 32 ? 0xFFFF : remaining <= 16 ? 0 : __mmask16((1 << (remaining - 16)) - 1)
        var a00 = zero, a01 = zero, a10 = zero, a11 = zero, a20 = zero, a21 = zero, a30 = zero, a31 = zero
        var a40 = zero, a41 = zero, a50 = zero, a51 = zero, a60 = zero, a61 = zero, a70 = zero, a71 = zero
        @inline(__always) func step(_ b0: __m512, _ b1: __m512, _ d: Int) {
            var v = _mm512_set1_ps(w0[d]); a00 = _mm512_fmadd_ps(v, b0, a00); a01 = _mm512_fmadd_ps(v, b1, a01)
            v = _mm512_set1_ps(w1[d]); a10 = _mm512_fmadd_ps(v, b0, a10); a11 = _mm512_fmadd_ps(v, b1, a11)
            v = _mm512_set1_ps(w2[d]); a20 = _mm512_fmadd_ps(v, b0, a20); a21 = _mm512_fmadd_ps(v, b1, a21)
            v = _mm512_set1_ps(w3[d]); a30 = _mm512_fmadd_ps(v, b0, a30); a31 = _mm512_fmadd_ps(v, b1, a31)
            v = _mm512_set1_ps(w4[d]); a40 = _mm512_fmadd_ps(v, b0, a40); a41 = _mm512_fmadd_ps(v, b1, a41)
            v = _mm512_set1_ps(w5[d]); a50 = _mm512_fmadd_ps(v, b0, a50); a51 = _mm512_fmadd_ps(v, b1, a51)
            v = _mm512_set1_ps(w6[d]); a60 = _mm512_fmadd_ps(v, b0, a60); a61 = _mm512_fmadd_ps(v, b1, a61)
            v = _mm512_set1_ps(w7[d]); a70 = _mm512_fmadd_ps(v, b0, a70); a71 = _mm512_fmadd_ps(v, b1, a71)
        }
        if let offsets {
            // Row d of this block at x + j + offsets[d] (B read in place through an offset table).
            let base = x + j
            if m1 == 0xFFFF {
                for d in 0..<depth {
                    let p = base + offsets[d]
                    step(_mm512_loadu_ps(p), _mm512_loadu_ps(p + 16), d)
                }
            } else {
                for d in 0..<depth {
                    let p = base + offsets[d]
                    step(_mm512_maskz_loadu_ps(m0, p), _mm512_maskz_loadu_ps(m1, p + 16), d)
                }
            }
        } else {
            var px = layout == .planes ? x + j : x + j * depth
            if m1 == 0xFFFF {
                for d in 0..<depth {
                    step(_mm512_loadu_ps(px), _mm512_loadu_ps(px + second), d)
                    px += rowStep
                }
            } else {
                for d in 0..<depth {
                    step(_mm512_maskz_loadu_ps(m0, px), _mm512_maskz_loadu_ps(m1, px + second), d)
                    px += rowStep
                }
            }
        }
        let cj = c + j
        let rj = e.residual.map { $0 + j }
        @inline(__always) func put(_ r: Int, _ s0: __m512, _ s1: __m512) {
            if r > last { return }
            let out = cj + r * cStride
            var v0 = s0, v1 = s1
            if e.accumulate {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, out)); v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, out + 16))
            }
            if let bias = e.bias {
                let b = _mm512_set1_ps(bias[r]); v0 = _mm512_add_ps(v0, b); v1 = _mm512_add_ps(v1, b)
            }
            let res = rj.map { $0 + r * e.residualStride }
            if let res, e.residualBefore {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, res)); v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, res + 16))
            }
            v0 = activateAVX512(v0, e); v1 = activateAVX512(v1, e)
            if let res, !e.residualBefore {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, res)); v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, res + 16))
            }
            _mm512_mask_storeu_ps(out, m0, v0)
            _mm512_mask_storeu_ps(out + 16, m1, v1)
        }
        put(0, a00, a01); put(1, a10, a11); put(2, a20, a21); put(3, a30, a31)
        put(4, a40, a41); put(5, a50, a51); put(6, a60, a61); put(7, a70, a71)
        j += 32
    }
}

/// SegKernels' `Activation.apply` on 16 lanes, operation for operation (a multiply then an
/// add, never fused, so the two paths agree bit for bit).
@inline(__always)
func activateAVX512(_ x: __m512, _ e: PointwiseAVX512Epilogue) -> __m512 {
    switch e.activation {
    case 1:
        // max(0, x) returns x when x is NaN, as `Activation.apply` keeps it.
        return _mm512_max_ps(_mm512_setzero_ps(), x)
    case 2:
        return _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(e.p0)), _mm512_set1_ps(e.p1))
    case 3:
        let gate = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(1 / 6)), _mm512_set1_ps(0.5))
        return _mm512_mul_ps(x, _mm512_min_ps(_mm512_max_ps(gate, _mm512_setzero_ps()), _mm512_set1_ps(1)))
    case 4:
        let y = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(e.p0)), _mm512_set1_ps(e.p1))
        return _mm512_min_ps(_mm512_max_ps(y, _mm512_setzero_ps()), _mm512_set1_ps(1))
    default:
        return x
    }
}
#endif
