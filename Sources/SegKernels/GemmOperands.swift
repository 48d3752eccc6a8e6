/// The left operand of a GEMM call: pre-packed weights or strided memory packed per block.
enum GemmA {
    case packed(PackedMatrix)
    case strided(StridedOperand)
}

/// The right operand: pre-packed, strided memory, or an image read through im2col
/// (convolution as implicit GEMM: the column matrix is never materialised, only the
/// block being multiplied is packed).
enum GemmB {
    case packed(PackedMatrix)
    case strided(StridedOperand)
    case im2col(Im2colOperand)
}

/// The im2col view of one image (one group's channels) as a K×N matrix with
/// K = channels·kH·kW (row k = (c, ky, kx), kx fastest) and N = outH·outW (column
/// n = (oy, ox), ox fastest): element = x[c][oy·sH − padTop + ky·dH][ox·sW − padLeft + kx·dW],
/// 0 outside the image.
struct Im2colOperand: @unchecked Sendable {
    let input: UnsafePointer<Float>
    let height: Int, width: Int
    let kernelH: Int, kernelW: Int
    let strideH: Int, strideW: Int
    let padTop: Int, padLeft: Int
    let dilationH: Int, dilationW: Int
    let outW: Int

    /// Same panel layout as `StridedOperand.pack` with width 16. Each 16-column panel is
    /// cut into runs that lie in one output row; a run's inputs for one depth row are then
    /// `input[offset + r·strideW]`, copied without bounds checks (SIMD for strides 1 and 2)
    /// unless the run touches the padding.
    func pack(columns: Range<Int>, depth: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let kc = depth.count
        let taps = kernelH * kernelW
        let plane = height * width
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * kc) { table in
            // Per depth row: channel offset, dy, dx (no divisions in the panel loop).
            for d in 0..<kc {
                let kIndex = depth.lowerBound + d
                let c = kIndex / taps, tap = kIndex % taps
                table[3 * d] = c * plane
                table[3 * d + 1] = (tap / kernelW) * dilationH
                table[3 * d + 2] = (tap % kernelW) * dilationW
            }
            var out = dst
            var p = columns.lowerBound
            while p < columns.upperBound {
                let valid = min(Tile.nr, columns.upperBound - p)
                var oy = p / outW, ox = p % outW
                var r0 = 0
                while r0 < valid {
                    let count = min(valid - r0, outW - ox)
                    let iy0 = oy * strideH - padTop, ix0 = ox * strideW - padLeft
                    for d in 0..<kc {
                        let row = out + d * Tile.nr + r0
                        let iy = iy0 + table[3 * d + 1]
                        if iy < 0 || iy >= height {
                            row.update(repeating: 0, count: count)
                            continue
                        }
                        let first = ix0 + table[3 * d + 2], last = first + (count - 1) * strideW
                        let src = input + table[3 * d] + iy * width
                        if first >= 0 && last < width {
                            if strideW == 1 {
                                row.update(from: src + first, count: count)
                            } else if strideW == 2 && count == Tile.nr && last + 1 < width {
                                let q = src + first
                                let v0 = load8(q), v1 = load8(q + 8), v2 = load8(q + 16), v3 = load8(q + 24)
                                store8(SIMD8(v0[0], v0[2], v0[4], v0[6], v1[0], v1[2], v1[4], v1[6]), row)
                                store8(SIMD8(v2[0], v2[2], v2[4], v2[6], v3[0], v3[2], v3[4], v3[6]), row + 8)
                            } else {
                                let q = src + first
                                for r in 0..<count { row[r] = q[r * strideW] }
                            }
                        } else {
                            for r in 0..<count {
                                let ix = first + r * strideW
                                row[r] = ix >= 0 && ix < width ? src[ix] : 0
                            }
                        }
                    }
                    r0 += count
                    oy += 1
                    ox = 0
                }
                if valid < Tile.nr {
                    for d in 0..<kc { (out + d * Tile.nr + valid).update(repeating: 0, count: Tile.nr - valid) }
                }
                out += Tile.nr * kc
                p += Tile.nr
            }
        }
    }
}
