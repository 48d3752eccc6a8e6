/// From coefficients to pixels: IDCT into per-component sample planes,
/// libjpeg-turbo's upsampling, and its fixed-point YCbCr→RGB conversion.
extension JPEGDecoder {
    /// A component's samples after the IDCT: `stride` = blocksW * 8, `rows` = blocksH * 8.
    struct Plane {
        var samples: [UInt8]
        let stride: Int
        let rows: Int
        /// Valid (downsampled) size; columns/rows beyond are block padding.
        let width: Int
        let height: Int
    }

    func plane(_ c: JPEGComponent) -> Plane {
        let stride = c.blocksW * 8, rows = c.blocksH * 8
        var samples = [UInt8](repeating: 0, count: stride * rows)
        let quant32 = (c.quant ?? [Int](repeating: 1, count: 64)).map { Int32(truncatingIfNeeded: $0) }
        // Only blocks that touch valid samples (plus one block column/row of context) are transformed.
        let needW = min(c.blocksW, (c.width + 7) / 8 + 1), needH = min(c.blocksH, (c.height + 7) / 8 + 1)
        var ws = [Int32](repeating: 0, count: 64)
        coefs.withUnsafeBufferPointer { cp in
            quant32.withUnsafeBufferPointer { qp in
                JPEGIDCT.rangeLimit.withUnsafeBufferPointer { rp in
                    ws.withUnsafeMutableBufferPointer { wp in
                        samples.withUnsafeMutableBufferPointer { op in
                            for by in 0..<needH {
                                for bx in 0..<needW {
                                    JPEGIDCT.block(cp, c.coefOffset + (by * c.blocksW + bx) * 64, qp, wp, op,
                                                   by * 8 * stride + bx * 8, stride, rp)
                                }
                            }
                        }
                    }
                }
            }
        }
        return Plane(samples: samples, stride: stride, rows: rows, width: c.width, height: c.height)
    }

    /// Full-resolution samples (width × height) of a component.
    func upsampled(_ p: Plane, fx: Int, fy: Int) -> [UInt8] {
        let w = width, h = height
        var out = [UInt8](repeating: 0, count: w * h)
        let s = p.samples
        // Rows beyond the valid height repeat the last one, as libjpeg's context rows do.
        @inline(__always) func row(_ y: Int) -> Int { min(max(y, 0), p.height - 1) * p.stride }
        switch (fx, fy) {
        case (1, 1):
            for y in 0..<h { for x in 0..<w { out[y * w + x] = s[y * p.stride + x] } }
        case (2, 1):
            // h2v1 "fancy" (jdsample.c): 3/4 of the nearer input plus 1/4 of the next,
            // rounding alternately down/up (+1, +2); the outermost outputs copy the edge.
            // With a single input column libjpeg reads the block padding beside it; so do we.
            var line = [Int](repeating: 0, count: p.width + 1)
            for y in 0..<h {
                let r = row(y)
                for x in 0...p.width { line[x] = Int(s[r + min(x, p.stride - 1)]) }
                let o = y * w
                for x in 0..<w {
                    let i = x >> 1
                    let v: Int
                    if x & 1 == 0 {
                        v = i == 0 ? line[0] : (3 * line[i] + line[i - 1] + 1) >> 2
                    } else {
                        v = (i == p.width - 1 && p.width >= 2) ? line[i] : (3 * line[i] + line[i + 1] + 2) >> 2
                    }
                    out[o + x] = UInt8(truncatingIfNeeded: v)
                }
            }
        case (1, 2):
            // h1v2: each output row weighs its input row 3:1 with the nearer neighbour row.
            for y in 0..<h {
                let iy = y >> 1
                let near = row(y & 1 == 0 ? iy - 1 : iy + 1), this = row(iy)
                let bias = y & 1 == 0 ? 1 : 2
                for x in 0..<w { out[y * w + x] = UInt8((3 * Int(s[this + x]) + Int(s[near + x]) + bias) >> 2) }
            }
        case (2, 2):
            // h2v2 "fancy": vertical 3:1 column sums, then horizontal 3:1, descaled by 16
            // with biases 8 (even outputs) and 7 (odd outputs), as jdsample.c.
            var cs = [Int](repeating: 0, count: p.width + 1)
            for y in 0..<h {
                let iy = y >> 1
                let near = row(y & 1 == 0 ? iy - 1 : iy + 1), this = row(iy)
                for x in 0...p.width {
                    let xx = min(x, p.stride - 1)
                    cs[x] = 3 * Int(s[this + xx]) + Int(s[near + xx])
                }
                let o = y * w
                for x in 0..<w {
                    let i = x >> 1
                    let v: Int
                    if x & 1 == 0 {
                        v = i == 0 ? (cs[0] * 4 + 8) >> 4 : (cs[i] * 3 + cs[i - 1] + 8) >> 4
                    } else {
                        v = (i == p.width - 1 && p.width >= 2) ? (cs[i] * 4 + 7) >> 4 : (cs[i] * 3 + cs[i + 1] + 7) >> 4
                    }
                    out[o + x] = UInt8(truncatingIfNeeded: v)
                }
            }
        default:
            // Other integral ratios (4:1:1 and friends): box replication, libjpeg's int_upsample.
            for y in 0..<h {
                let r = row(y / fy)
                for x in 0..<w { out[y * w + x] = s[r + x / fx] }
            }
        }
        return out
    }

    // MARK: - Colour

    /// libjpeg's YCbCr→RGB tables (jdcolor.c, 16 fractional bits).
    static let crR: [Int] = (0..<256).map { (91881 * ($0 - 128) + 32768) >> 16 }
    static let cbB: [Int] = (0..<256).map { (116130 * ($0 - 128) + 32768) >> 16 }
    static let crG: [Int] = (0..<256).map { -46802 * ($0 - 128) }
    static let cbG: [Int] = (0..<256).map { -22554 * ($0 - 128) + 32768 }

    func outputImage() throws(ImagingError) -> Image {
        guard sawFrame, !components.isEmpty else { throw fail(.corrupt, nil, 0, "no frame decoded") }
        let full = components.map { c in upsampled(plane(c), fx: hmax / c.h, fy: vmax / c.v) }
        let n = width * height
        if components.count == 1 { return Image(unchecked: width, height, 1, full[0]) }
        var out = [UInt8](repeating: 0, count: n * 3)
        let (c0, c1, c2) = (full[0], full[1], full[2])
        if componentsAreRGB {
            for i in 0..<n {
                out[3 * i] = c0[i]
                out[3 * i + 1] = c1[i]
                out[3 * i + 2] = c2[i]
            }
        } else {
            let crR = Self.crR, cbB = Self.cbB, crG = Self.crG, cbG = Self.cbG
            @inline(__always) func clamp(_ v: Int) -> UInt8 { UInt8(min(255, max(0, v))) }
            for i in 0..<n {
                let y = Int(c0[i]), cb = Int(c1[i]), cr = Int(c2[i])
                out[3 * i] = clamp(y + crR[cr])
                out[3 * i + 1] = clamp(y + ((cbG[cb] + crG[cr]) >> 16))
                out[3 * i + 2] = clamp(y + cbB[cb])
            }
        }
        return Image(unchecked: width, height, 3, out)
    }
}
