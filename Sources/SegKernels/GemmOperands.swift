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
    indirect case direct(DirectOperand)
}

/// The im2col view of one image (one group's channels) as a K×N matrix with
/// K = channels·kH·kW (row k = (c, ky, kx), kx fastest) and N = outH·outW (column
/// n = (oy, ox), ox fastest): element = x[c][oy·sH − padTop + ky·dH][ox·sW − padLeft + kx·dW],
/// 0 outside the image.
struct Im2colOperand: @unchecked Sendable {
    /// Input rows a panel-by-panel copy may read side by side (see `pack`).
    static let rowsInLockstep = 32
    let input: UnsafePointer<Float>
    let height: Int, width: Int
    let kernelH: Int, kernelW: Int
    let strideH: Int, strideW: Int
    let padTop: Int, padLeft: Int
    let dilationH: Int, dilationW: Int
    let outW: Int
    /// Floats between channel planes: height·width, or more when `input` is a band of rows
    /// of a taller image.
    var channelStride: Int = 0

    /// Same panel layout as `StridedOperand.pack` with width 16. Each 16-column panel is
    /// cut into runs that lie in one output row; a run's inputs for one depth row are then
    /// `input[offset + r·strideW]`, copied without bounds checks (SIMD for strides 1 and 2)
    /// unless the run touches the padding.
    ///
    /// With many input rows (channels × kernel rows) depth rows are the outer loop and runs
    /// the inner one, so each depth row reads its input row from left to right across every
    /// panel: one stream at a time that the prefetchers follow. Panel by panel, the copy
    /// touched all those rows in lockstep (192 for a 64-channel 3×3 conv), and a 64→64 3×3/2
    /// conv at 180×240 spent more time waiting on those loads than multiplying (15.4 → 10.6
    /// ms). With few rows (stems) panel by panel stays: it reads the run table once per run
    /// rather than once per depth row (3→16 3×3/2: 0.67 against 0.80 ms).
    func pack(columns: Range<Int>, depth: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let kc = depth.count
        let taps = kernelH * kernelW
        let plane = channelStride > 0 ? channelStride : height * width
        let panels = (columns.count + Tile.nr - 1) / Tile.nr
        // A panel holds at most ⌈16 / outW⌉ + 1 runs.
        let maxRuns = panels * (min(Tile.nr, (Tile.nr + outW - 1) / outW + 1))
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * kc + 4 * maxRuns) { scratch in
            let table = scratch.baseAddress!, runs = table + 3 * kc
            // Per depth row: channel offset, dy, dx (no divisions in the copy loop).
            for d in 0..<kc {
                let kIndex = depth.lowerBound + d
                let c = kIndex / taps, tap = kIndex % taps
                table[3 * d] = c * plane
                table[3 * d + 1] = (tap / kernelW) * dilationH
                table[3 * d + 2] = (tap % kernelW) * dilationW
            }
            // Per run: destination offset of its depth row 0, count, first input row and column.
            var runCount = 0
            var p = columns.lowerBound, panelOffset = 0
            while p < columns.upperBound {
                let valid = min(Tile.nr, columns.upperBound - p)
                var oy = p / outW, ox = p % outW
                var r0 = 0
                while r0 < valid {
                    let count = min(valid - r0, outW - ox)
                    runs[4 * runCount] = panelOffset + r0
                    runs[4 * runCount + 1] = count
                    runs[4 * runCount + 2] = oy * strideH - padTop
                    runs[4 * runCount + 3] = ox * strideW - padLeft
                    runCount += 1
                    r0 += count
                    oy += 1
                    ox = 0
                }
                if valid < Tile.nr {
                    for d in 0..<kc { (dst + panelOffset + d * Tile.nr + valid).update(repeating: 0, count: Tile.nr - valid) }
                }
                panelOffset += Tile.nr * kc
                p += Tile.nr
            }
            if kc / kernelW > Self.rowsInLockstep {
                for d in 0..<kc {
                    let channel = input + table[3 * d], dy = table[3 * d + 1], dx = table[3 * d + 2], depthRow = dst + d * Tile.nr
                    for run in 0..<runCount {
                        copyRun(into: depthRow + runs[4 * run], count: runs[4 * run + 1], row: runs[4 * run + 2] + dy,
                                column: runs[4 * run + 3] + dx, channel: channel)
                    }
                }
            } else {
                for run in 0..<runCount {
                    let panelRow = dst + runs[4 * run], count = runs[4 * run + 1], iy = runs[4 * run + 2], ix = runs[4 * run + 3]
                    for d in 0..<kc {
                        copyRun(into: panelRow + d * Tile.nr, count: count, row: iy + table[3 * d + 1], column: ix + table[3 * d + 2],
                                channel: input + table[3 * d])
                    }
                }
            }
        }
    }

    /// One run of one depth row: `count` inputs of channel plane `channel` from input row
    /// `iy`, columns `first`, `first + strideW`, … (zeros outside the image).
    @inline(__always)
    private func copyRun(into row: UnsafeMutablePointer<Float>, count: Int, row iy: Int, column first: Int, channel: UnsafePointer<Float>) {
        if iy < 0 || iy >= height {
            row.update(repeating: 0, count: count)
            return
        }
        let last = first + (count - 1) * strideW
        let src = channel + iy * width
        if first >= 0 && last < width {
            let q = src + first
            if strideW == 1 && count == Tile.nr {
                // The common interior run: two vector moves, not a memmove
                // call (there are K·N/16 of these per conv).
                store8(load8(q), row)
                store8(load8(q + 8), row + 8)
            } else if strideW == 1 {
                row.update(from: q, count: count)
            } else if strideW == 2 && last + 1 < width {
                // Even lanes of 16 inputs per 8 outputs: shuffles (a lane-by-lane
                // SIMD8 built from extracts compiled to 16 inserts per vector).
                var r = 0
                while r + 8 <= count {
                    store8(SIMD16<Float>(lowHalf: load8(q + 2 * r), highHalf: load8(q + 2 * r + 8)).evenHalf, row + r)
                    r += 8
                }
                while r < count { row[r] = q[2 * r]; r += 1 }
            } else {
                for r in 0..<count { row[r] = q[r * strideW] }
            }
        } else if strideW == 1 {
            // Touches the left or right padding: zeros around one copy.
            let lo = min(count, max(0, -first)), hi = max(lo, min(count, width - first))
            if lo > 0 { row.update(repeating: 0, count: lo) }
            if hi > lo { (row + lo).update(from: src + first + lo, count: hi - lo) }
            if count > hi { (row + hi).update(repeating: 0, count: count - hi) }
        } else {
            for r in 0..<count {
                let ix = first + r * strideW
                row[r] = ix >= 0 && ix < width ? src[ix] : 0
            }
        }
    }
}

/// A convolution's right operand read in place, without packing: for the 16-column panel
/// starting at column j, depth row k is the 16 contiguous floats at `origin(j) + offsets[k]`.
/// That holds for a pointwise conv's full panels, and for a stride-1 (along W) conv's panels
/// that lie in one output row and read no padding — nearly all of them on a large map. The
/// other panels are packed through `fallback` as before. Skipping the pack matters when the
/// conv has few output channels: each packed element then feeds only Cout multiply-adds, and
/// packing took a third of a 64-channel 3×3 conv's time.
struct DirectOperand: @unchecked Sendable {
    enum Geometry {
        /// Pointwise: B = x as [K = Cin, N = H·W], row k at `base + k·plane`.
        case pointwise(base: UnsafePointer<Float>, columns: Int)
        /// Stride-1-along-W conv: origin = x + iy0·W + ix0 for the panel's first output pixel.
        case conv(input: UnsafePointer<Float>, height: Int, width: Int, outW: Int, strideH: Int,
                  padTop: Int, padLeft: Int, spanH: Int, spanW: Int)
    }
    let geometry: Geometry
    /// K entries: depth row k's offset from the panel origin.
    let offsets: UnsafePointer<Int>
    let fallback: GemmB

    @inline(__always)
    func origin(column j: Int) -> UnsafePointer<Float>? { geometry.origin(column: j) }

    /// Packs the panels of `columns` that cannot be read in place (at their usual positions
    /// in `dst`, so panel p's data sits at `dst + p·16·kc` as for a fully packed block).
    func packIndirectPanels(columns: Range<Int>, depth: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        var j = columns.lowerBound
        while j < columns.upperBound {
            let end = min(columns.upperBound, j + Tile.nr)
            if origin(column: j) == nil || end - j < Tile.nr {
                let panel = dst + (j - columns.lowerBound) * depth.count
                switch fallback {
                case let .im2col(op): op.pack(columns: j..<end, depth: depth, into: panel)
                case let .strided(op): op.pack(outer: j..<end, depth: depth, width: Tile.nr, into: panel)
                case .packed, .direct: break
                }
            }
            j += Tile.nr
        }
    }
}

extension DirectOperand.Geometry {
    /// Where the panel starting at column j reads in place, or nil when it must be packed.
    @inline(__always)
    func origin(column j: Int) -> UnsafePointer<Float>? {
        switch self {
        case let .pointwise(base, columns):
            return j + Tile.nr <= columns ? base + j : nil
        case let .conv(input, height, width, outW, strideH, padTop, padLeft, spanH, spanW):
            let oy = j / outW, ox = j - oy * outW
            guard ox + Tile.nr <= outW else { return nil }
            let iy0 = oy * strideH - padTop, ix0 = ox - padLeft
            guard iy0 >= 0, iy0 + spanH < height, ix0 >= 0, ix0 + Tile.nr + spanW <= width else { return nil }
            return input + iy0 * width + ix0
        }
    }
}
