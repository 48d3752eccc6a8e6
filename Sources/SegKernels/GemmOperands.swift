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

    /// Same panel layout as `StridedOperand.pack` with width 16.
    func pack(columns: Range<Int>, depth: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let kc = depth.count
        let taps = kernelH * kernelW
        let plane = height * width
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * Tile.nr) { origin in
            var out = dst
            var p = columns.lowerBound
            while p < columns.upperBound {
                let valid = min(Tile.nr, columns.upperBound - p)
                // Top-left input coordinate of each column's receptive field.
                for r in 0..<valid {
                    let oy = (p + r) / outW, ox = (p + r) % outW
                    origin[2 * r] = oy * strideH - padTop
                    origin[2 * r + 1] = ox * strideW - padLeft
                }
                for d in 0..<kc {
                    let kIndex = depth.lowerBound + d
                    let c = kIndex / taps, tap = kIndex % taps
                    let dy = (tap / kernelW) * dilationH, dx = (tap % kernelW) * dilationW
                    let channel = input + c * plane
                    let row = out + d * Tile.nr
                    for r in 0..<valid {
                        let iy = origin[2 * r] + dy, ix = origin[2 * r + 1] + dx
                        row[r] = (iy >= 0 && iy < height && ix >= 0 && ix < width) ? channel[iy * width + ix] : 0
                    }
                    for r in valid..<Tile.nr { row[r] = 0 }
                }
                out += Tile.nr * kc
                p += Tile.nr
            }
        }
    }
}
