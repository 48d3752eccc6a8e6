import SegParallel

/// From coefficients to pixels: IDCT into per-component sample planes,
/// libjpeg-turbo's upsampling, and its fixed-point YCbCr→RGB conversion.
extension JPEGDecoder {
    /// A component's samples after the IDCT, at `offset` in a buffer shared by all
    /// components: `stride` = blocksW * 8, `rows` = blocksH * 8.
    struct Plane {
        let offset: Int
        let stride: Int
        let rows: Int
        /// Valid (downsampled) size; columns/rows beyond are block padding.
        let width: Int
        let height: Int
    }

    /// Where each component's samples go in the shared buffer, and its total size.
    func planeLayout() -> (planes: [Plane], total: Int) {
        var planes: [Plane] = []
        var total = 0
        for c in components {
            planes.append(Plane(offset: total, stride: c.blocksW * 8, rows: c.blocksH * 8, width: c.width, height: c.height))
            total += c.blocksW * 8 * c.blocksH * 8
        }
        return (planes, total)
    }

    /// Every component's samples: decoded directly by a single-pass scan, or the IDCT of
    /// the coefficient store. Only blocks holding valid samples are transformed (the
    /// upsampling reads nothing beyond a plane's valid width and height).
    func planes() -> (planes: [Plane], samples: [UInt8]) {
        let (planes, total) = planeLayout()
        if let direct = directSamples, direct.count == total { return (planes, direct) }
        var samples = [UInt8](repeating: 0, count: total)
        guard coefs.count == coefTotal else { return (planes, samples) }
        precondition(coefs.count >= components.map { $0.coefOffset + $0.blocksW * $0.blocksH * 64 }.max() ?? 0)
        var ws = [Int32](repeating: 0, count: 64)
        samples.withUnsafeMutableBufferPointer { op in
            coefs.withUnsafeBufferPointer { cp in
                JPEGIDCT.rangeLimit.withUnsafeBufferPointer { rp in
                    ws.withUnsafeMutableBufferPointer { wp in
                        for (c, p) in zip(components, planes) {
                            let quant32 = (c.quant ?? [Int](repeating: 1, count: 64)).map { Int32(truncatingIfNeeded: $0) }
                            let stride = p.stride
                            let needW = (c.width + 7) / 8, needH = (c.height + 7) / 8
                            precondition(needW <= c.blocksW && needH <= c.blocksH && quant32.count == 64)
                            quant32.withUnsafeBufferPointer { qp in
                                for by in 0..<needH {
                                    for bx in 0..<needW {
                                        JPEGIDCT.block(cp.baseAddress! + c.coefOffset + (by * c.blocksW + bx) * 64,
                                                       qp.baseAddress!, wp.baseAddress!,
                                                       op.baseAddress! + p.offset + by * 8 * stride + bx * 8, stride,
                                                       rp.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (planes, samples)
    }

    /// How a component's plane becomes full-resolution rows (libjpeg-turbo's jinit_upsampler choice).
    enum Upsampling {
        case none
        /// h2v1 / h2v2 "fancy" triangular filters; libjpeg uses them only when the
        /// downsampled width exceeds 2, replicating (box) otherwise.
        case fancyH2V1, fancyH2V2
        /// h1v2 "fancy" (vertical only; no width condition).
        case fancyH1V2
        /// Box replication by integral factors (libjpeg's int_upsample / h2v1_upsample / h2v2_upsample).
        case box(fx: Int, fy: Int)
    }

    static func upsampling(_ p: Plane, fx: Int, fy: Int) -> Upsampling {
        switch (fx, fy) {
        case (1, 1): .none
        case (2, 1) where p.width > 2: .fancyH2V1
        case (2, 2) where p.width > 2: .fancyH2V2
        case (1, 2): .fancyH1V2
        default: .box(fx: fx, fy: fy)
        }
    }

    /// Output row `y` (full resolution, `width` samples) of a component: either a row of the
    /// plane itself (no upsampling) or `tmp`, filled. `s` is the plane's samples; `cs` is
    /// scratch for at least `p.width` column sums.
    /// Indices stay inside the plane: rows are clamped to 0..<p.height (≤ p.rows) and columns
    /// read are < p.width + 1 ≤ p.stride (fancy) or < ceil(width / fx) = p.width (box).
    @inline(__always)
    func upsampleRow(_ y: Int, _ p: Plane, _ mode: Upsampling, _ s: UnsafePointer<UInt8>,
                     _ tmp: UnsafeMutablePointer<UInt8>, _ cs: UnsafeMutablePointer<Int16>) -> UnsafePointer<UInt8> {
        let w = width
        // Rows beyond the valid height repeat the last one, as libjpeg's context rows do.
        @inline(__always) func row(_ y: Int) -> UnsafePointer<UInt8> { s + min(max(y, 0), p.height - 1) * p.stride }
        switch mode {
        case .none:
            return row(y)
        case .fancyH2V1:
            // jdsample.c h2v1_fancy_upsample: 3/4 of the nearer input plus 1/4 of the next,
            // rounding alternately down/up (+1, +2); the outermost outputs copy the edge.
            let r = row(y), pw = p.width
            tmp[0] = r[0]
            tmp[1] = UInt8(truncatingIfNeeded: (3 &* Int32(r[0]) &+ Int32(r[1]) &+ 2) &>> 2)
            for i in 1..<(pw - 1) {
                let c = 3 &* Int32(r[i])
                tmp[2 &* i] = UInt8(truncatingIfNeeded: (c &+ Int32(r[i &- 1]) &+ 1) &>> 2)
                tmp[2 &* i &+ 1] = UInt8(truncatingIfNeeded: (c &+ Int32(r[i &+ 1]) &+ 2) &>> 2)
            }
            tmp[2 * pw - 2] = UInt8(truncatingIfNeeded: (3 &* Int32(r[pw - 1]) &+ Int32(r[pw - 2]) &+ 1) &>> 2)
            tmp[2 * pw - 1] = r[pw - 1]
            return UnsafePointer(tmp)
        case .fancyH1V2:
            // h1v2: each output row weighs its input row 3:1 with the nearer neighbour row.
            let iy = y >> 1
            let near = row(y & 1 == 0 ? iy - 1 : iy + 1), this = row(iy)
            let bias: Int32 = y & 1 == 0 ? 1 : 2
            for x in 0..<w { tmp[x] = UInt8(truncatingIfNeeded: (3 &* Int32(this[x]) &+ Int32(near[x]) &+ bias) &>> 2) }
            return UnsafePointer(tmp)
        case .fancyH2V2:
            // h2v2 "fancy": vertical 3:1 column sums, then horizontal 3:1, descaled by 16
            // with biases 8 (even outputs) and 7 (odd outputs), as jdsample.c.
            let iy = y >> 1
            let near = row(y & 1 == 0 ? iy - 1 : iy + 1), this = row(iy)
            // Two simple loops (column sums, then the horizontal filter) that the compiler
            // vectorizes; every value fits in Int16 (4 · 1020 + 8).
            let pw = p.width
            for i in 0..<pw { cs[i] = 3 &* Int16(this[i]) &+ Int16(near[i]) }
            tmp[0] = UInt8(truncatingIfNeeded: (cs[0] &* 4 &+ 8) &>> 4)
            tmp[1] = UInt8(truncatingIfNeeded: (cs[0] &* 3 &+ cs[1] &+ 7) &>> 4)
            for i in 1..<(pw - 1) {
                let c = cs[i] &* 3
                tmp[2 &* i] = UInt8(truncatingIfNeeded: (c &+ cs[i &- 1] &+ 8) &>> 4)
                tmp[2 &* i &+ 1] = UInt8(truncatingIfNeeded: (c &+ cs[i &+ 1] &+ 7) &>> 4)
            }
            tmp[2 &* pw &- 2] = UInt8(truncatingIfNeeded: (cs[pw - 1] &* 3 &+ cs[pw - 2] &+ 8) &>> 4)
            tmp[2 &* pw &- 1] = UInt8(truncatingIfNeeded: (cs[pw - 1] &* 4 &+ 7) &>> 4)
            return UnsafePointer(tmp)
        case .box(let fx, let fy):
            let r = row(y / fy)
            if fx == 1 { return r }
            for x in 0..<w { tmp[x] = r[x / fx] }
            return UnsafePointer(tmp)
        }
    }

    // MARK: - Colour

    func outputImage() throws(ImagingError) -> Image {
        guard sawFrame, !components.isEmpty else { throw fail(.corrupt, nil, 0, "no frame decoded") }
        let w = width, h = height, nc = components.count
        let (planes, samples) = planes()
        let modes = components.indices.map {
            Self.upsampling(planes[$0], fx: hmax / components[$0].h, fy: vmax / components[$0].v)
        }
        for (p, c) in zip(planes, components) {
            // What upsampleRow's index arithmetic relies on (true by parseFrame's construction).
            precondition(p.width >= 1 && p.width <= p.stride && p.height >= 1 && p.height <= p.rows
                         && p.offset + p.stride * p.rows <= samples.count)
            precondition(p.width * (hmax / c.h) >= w && p.height * (vmax / c.v) >= h)
        }
        // Row scratch per component and band: every mode writes at most 2 * p.width ≤ w + 1
        // samples. Rows are independent (each reads clamped plane rows), so larger images
        // convert in two bands at once.
        let tstride = w + 8
        let bands = threads > 1 && w * h * nc >= parallelMinimumSamples && h >= 2 ? 2 : 1
        var scratch = [UInt8](repeating: 0, count: tstride * nc * bands)
        var colsum = [Int16](repeating: 0, count: tstride * bands)
        let rgb = componentsAreRGB
        let out = [UInt8](unsafeUninitializedCapacity: w * h * nc) { buf, count in
            scratch.withUnsafeMutableBufferPointer { sb in
              colsum.withUnsafeMutableBufferPointer { csb in
                samples.withUnsafeBufferPointer { spb in
                    // Each band writes its own rows of `out` and its own scratch.
                    nonisolated(unsafe) let o = buf.baseAddress!, scratchBase = sb.baseAddress!, s = spb.baseAddress!
                    nonisolated(unsafe) let colsums = csb.baseAddress!
                    // Read-only during the bands (upsampleRow reads the width and nothing it writes).
                    nonisolated(unsafe) let decoder = self
                    // The kernels' pthread pool, not Dispatch: inside the daemon this runs on a
                    // Swift concurrency thread, and Dispatch's second worker was often busy,
                    // leaving both bands to one thread.
                    ThreadPool.shared.parallelFor(bands) { range in for band in range { convertBand(band) } }
                    func convertBand(_ band: Int) {
                        let tmp = scratchBase + band * tstride * nc, cs = colsums + band * tstride
                        let rows = (band * h / bands)..<((band + 1) * h / bands)
                        if nc == 1 {
                            for y in rows {
                                let r = decoder.upsampleRow(y, planes[0], modes[0], s + planes[0].offset, tmp, cs)
                                (o + y * w).update(from: r, count: w)
                            }
                            return
                        }
                        let p0 = planes[0], p1 = planes[1], p2 = planes[2]
                        let m0 = modes[0], m1 = modes[1], m2 = modes[2]
                        for y in rows {
                            let r0 = decoder.upsampleRow(y, p0, m0, s + p0.offset, tmp, cs)
                            let r1 = decoder.upsampleRow(y, p1, m1, s + p1.offset, tmp + tstride, cs)
                            let r2 = decoder.upsampleRow(y, p2, m2, s + p2.offset, tmp + 2 * tstride, cs)
                            let d = o + y * w * 3
                            if rgb {
                                for x in 0..<w {
                                    d[3 * x] = r0[x]
                                    d[3 * x + 1] = r1[x]
                                    d[3 * x + 2] = r2[x]
                                }
                            } else {
                                Self.yccRow(r0, r1, r2, d, w)
                            }
                        }
                    }
                }
              }
            }
            count = w * h * nc
        }
        return Image(unchecked: w, h, nc, out)
    }

    /// libjpeg's YCbCr→RGB (jdcolor.c, 16 fractional bits): with cb = Cb − 128, cr = Cr − 128,
    /// R = Y + (91881·cr + 2^15) >> 16, G = Y + (−22554·cb − 46802·cr + 2^15) >> 16,
    /// B = Y + (116130·cb + 2^15) >> 16, each clamped to 0...255.
    ///
    /// Computed in 16-bit lanes so that the compiler vectorizes it with 16-bit multiplies:
    /// 91881 = 2^16 + 26345 and 116130 = 2^17 − 14942 split off whole multiples of 2^16, and
    /// (x + 2^15) >> 16 = ((x >> 15) + 1) >> 1, where x >> 15 is the high half of (2·c)·k.
    /// G keeps its two-product sum in 32 bits (−22554 = 2·−11277, −46802 = −2^16 + 2·9367).
    /// Equal to the 32-bit formulas for every input (`yccRowReference`, checked exhaustively in tests).
    @inline(__always)
    static func yccRow(_ yp: UnsafePointer<UInt8>, _ cbp: UnsafePointer<UInt8>, _ crp: UnsafePointer<UInt8>,
                       _ d: UnsafeMutablePointer<UInt8>, _ w: Int) {
        @inline(__always) func mulhi(_ a: Int16, _ b: Int16) -> Int16 {
            Int16(truncatingIfNeeded: (Int32(a) &* Int32(b)) &>> 16)
        }
        @inline(__always) func clamp(_ v: Int16) -> UInt8 { UInt8(truncatingIfNeeded: min(255, max(0, v))) }
        var o = d
        for x in 0..<w {
            let y = Int16(yp[x]), cb = Int16(cbp[x]) &- 128, cr = Int16(crp[x]) &- 128
            let r = y &+ cr &+ ((mulhi(cr &* 2, 26345) &+ 1) &>> 1)
            let b = y &+ cb &* 2 &+ ((mulhi(cb &* 2, -14942) &+ 1) &>> 1)
            let gs = Int32(cb) &* -11277 &+ Int32(cr) &* 9367
            let g = y &- cr &+ Int16(truncatingIfNeeded: ((gs &>> 14) &+ 1) &>> 1)
            o[0] = clamp(r)
            o[1] = clamp(g)
            o[2] = clamp(b)
            o += 3
        }
    }

    /// The plain 32-bit form of `yccRow` for one pixel (the specification the tests hold it to).
    static func yccRowReference(_ y: UInt8, _ cb: UInt8, _ cr: UInt8) -> (UInt8, UInt8, UInt8) {
        let y = Int32(y), cb = Int32(cb) - 128, cr = Int32(cr) - 128
        func clamp(_ v: Int32) -> UInt8 { UInt8(min(255, max(0, v))) }
        return (clamp(y + ((91881 * cr + 32768) >> 16)),
                clamp(y + ((-22554 * cb - 46802 * cr + 32768) >> 16)),
                clamp(y + ((116130 * cb + 32768) >> 16)))
    }
}
