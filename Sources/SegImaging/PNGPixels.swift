/// Turns inflated PNG scanlines into pixels: unfiltering (PNG spec §9),
/// Adam7 de-interlacing, and sample-depth / colour conversions.
struct PNGPixels {
    let info: PNG.Info
    let layout: PNGLayout

    init(info: PNG.Info) {
        self.info = info
        self.layout = PNGLayout(info)
    }

    // MARK: - Unfiltering

    /// Reverses the per-row filters in place; `raw` holds all passes back to back.
    /// The rows are walked through a pointer once `raw` is known to hold every pass.
    func unfilter(_ raw: inout [UInt8]) throws(ImagingError) {
        let bpp = layout.bytesPerPixel
        guard raw.count >= layout.rawSize else {
            throw ImagingError(.truncated, format: "PNG", context: "IDAT",
                               "image data holds \(raw.count) of \(layout.rawSize) bytes")
        }
        var bad: (type: UInt8, row: Int, pass: Int)?
        raw.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            var pos = 0
            for (p, pass) in layout.passes.enumerated() where pass.width > 0 && pass.height > 0 {
                let n = pass.rowBytes
                for row in 0..<pass.height {
                    let type = base[pos]
                    let cur = base + pos + 1
                    let prev = cur - (n + 1)   // previous row of this pass; only read when row > 0
                    switch type {
                    case 0:
                        break
                    case 1:
                        if n > bpp { for i in bpp..<n { cur[i] &+= cur[i &- bpp] } }
                    case 2:
                        if row > 0 { for i in 0..<n { cur[i] &+= prev[i] } }
                    case 3:
                        if row > 0 {
                            for i in 0..<min(bpp, n) { cur[i] &+= prev[i] >> 1 }
                            if n > bpp {
                                for i in bpp..<n {
                                    cur[i] &+= UInt8(truncatingIfNeeded: (UInt16(cur[i &- bpp]) &+ UInt16(prev[i])) >> 1)
                                }
                            }
                        } else if n > bpp {
                            for i in bpp..<n { cur[i] &+= cur[i &- bpp] >> 1 }
                        }
                    case 4:
                        if row > 0 {
                            // Paeth with a = 0 and c = 0 in the first pixel reduces to b.
                            for i in 0..<min(bpp, n) { cur[i] &+= prev[i] }
                            if n > bpp {
                                // Branch-free: |x| by sign mask, "pa ≤ pb and pa ≤ pc" as pa ≤ min(pb, pc).
                                @inline(__always) func mag(_ x: Int) -> Int { let m = x &>> 63; return (x ^ m) &- m }
                                for i in bpp..<n {
                                    let a = Int(cur[i &- bpp]), b = Int(prev[i]), c = Int(prev[i &- bpp])
                                    let pa = mag(b &- c), pb = mag(a &- c), pc = mag(a &+ b &- 2 &* c)
                                    let bc = pb <= pc ? b : c
                                    let pred = pa <= min(pb, pc) ? a : bc
                                    cur[i] &+= UInt8(truncatingIfNeeded: pred)
                                }
                            }
                        } else if n > bpp {
                            // No previous row: b = c = 0, so the predictor is a.
                            for i in bpp..<n { cur[i] &+= cur[i &- bpp] }
                        }
                    default:
                        bad = (type, row, p)
                        return
                    }
                    pos += n + 1
                }
            }
        }
        if let bad {
            throw ImagingError(.corrupt, format: "PNG", context: "IDAT",
                               "unknown filter type \(bad.type) in row \(bad.row) of pass \(bad.pass + 1)")
        }
    }

    // MARK: - Native samples

    /// Unfiltered, de-interlaced samples at their stored depth (not scaled),
    /// `samplesPerPixel` per pixel.
    func nativeSamples(_ filtered: [UInt8]) throws(ImagingError) -> [UInt16] {
        var raw = filtered
        try unfilter(&raw)
        let spp = info.colorType.samplesPerPixel
        let depth = info.bitDepth
        let w = info.width
        var out = [UInt16](repeating: 0, count: w * info.height * spp)
        var pos = 0
        for pass in layout.passes where pass.width > 0 && pass.height > 0 {
            for row in 0..<pass.height {
                let rowStart = pos + 1
                let y = pass.y0 + row * pass.dy
                for col in 0..<pass.width {
                    let dst = (y * w + pass.x0 + col * pass.dx) * spp
                    for s in 0..<spp {
                        let index = col * spp + s
                        let v: UInt16
                        switch depth {
                        case 16: v = UInt16(raw[rowStart + 2 * index]) << 8 | UInt16(raw[rowStart + 2 * index + 1])
                        case 8: v = UInt16(raw[rowStart + index])
                        default:
                            let bit = index * depth
                            let byte = raw[rowStart + bit >> 3]
                            v = UInt16((Int(byte) >> (8 - depth - (bit & 7))) & ((1 << depth) - 1))
                        }
                        out[dst + s] = v
                    }
                }
                pos += pass.rowBytes + 1
            }
        }
        return out
    }

    // MARK: - Output conversions

    func image8(_ filtered: [UInt8], paletteIndices: Bool) throws(ImagingError) -> Image {
        let w = info.width, h = info.height
        // Fast path for the common 8-bit non-interlaced gray/RGB/RGBA files: strip filter bytes only.
        if info.bitDepth == 8 && !info.interlaced && [.gray, .rgb, .rgba].contains(info.colorType) {
            var raw = filtered
            try unfilter(&raw)
            let n = layout.passes[0].rowBytes
            var out = [UInt8]()
            out.reserveCapacity(n * h)
            for row in 0..<h { out.append(contentsOf: raw[(row * (n + 1) + 1)..<((row + 1) * (n + 1))]) }
            return Image(unchecked: w, h, info.colorType.samplesPerPixel, out)
        }
        let native = try nativeSamples(filtered)
        let depth = info.bitDepth
        switch info.colorType {
        case .palette:
            if paletteIndices { return Image(unchecked: w, h, 1, native.map { UInt8(truncatingIfNeeded: $0) }) }
            let (colors, channels) = try paletteTable()
            var out = [UInt8](repeating: 0, count: w * h * channels)
            for i in 0..<(w * h) {
                let base = Int(native[i]) * channels
                for c in 0..<channels { out[i * channels + c] = colors[base + c] }
            }
            return Image(unchecked: w, h, channels, out)
        case .grayAlpha:
            var out = [UInt8](repeating: 0, count: w * h * 4)
            for i in 0..<(w * h) {
                let g = scale8(native[2 * i], depth), a = scale8(native[2 * i + 1], depth)
                out[4 * i] = g
                out[4 * i + 1] = g
                out[4 * i + 2] = g
                out[4 * i + 3] = a
            }
            return Image(unchecked: w, h, 4, out)
        default:
            return Image(unchecked: w, h, info.colorType.samplesPerPixel, native.map { scale8($0, depth) })
        }
    }

    func image16(_ filtered: [UInt8]) throws(ImagingError) -> Image16 {
        let w = info.width, h = info.height
        let native = try nativeSamples(filtered)
        let depth = info.bitDepth
        switch info.colorType {
        case .palette:
            let (colors, channels) = try paletteTable()
            var out = [UInt16](repeating: 0, count: w * h * channels)
            for i in 0..<(w * h) {
                let base = Int(native[i]) * channels
                for c in 0..<channels { out[i * channels + c] = UInt16(colors[base + c]) * 257 }
            }
            return Image16(unchecked: w, h, channels, out)
        case .grayAlpha:
            var out = [UInt16](repeating: 0, count: w * h * 4)
            for i in 0..<(w * h) {
                let g = scale16(native[2 * i], depth), a = scale16(native[2 * i + 1], depth)
                out[4 * i] = g
                out[4 * i + 1] = g
                out[4 * i + 2] = g
                out[4 * i + 3] = a
            }
            return Image16(unchecked: w, h, 4, out)
        default:
            return Image16(unchecked: w, h, info.colorType.samplesPerPixel, native.map { scale16($0, depth) })
        }
    }

    /// Palette as a flat table of 256 entries (RGB or RGBA), so that any 8-bit
    /// index is a valid lookup.
    private func paletteTable() throws(ImagingError) -> ([UInt8], Int) {
        guard let palette = info.palette else {
            throw ImagingError(.corrupt, format: "PNG", context: "chunk PLTE", "palette image without PLTE")
        }
        let channels = info.transparency == nil ? 3 : 4
        var table = [UInt8](repeating: 0, count: 256 * channels)
        let alphas = info.transparency ?? []
        for (i, c) in palette.enumerated() {
            table[i * channels] = c.r
            table[i * channels + 1] = c.g
            table[i * channels + 2] = c.b
            if channels == 4 { table[i * channels + 3] = i < alphas.count ? alphas[i] : 255 }
        }
        // Out-of-range indices decode as black (transparent with tRNS), as libpng does.
        return (table, channels)
    }

    @inline(__always)
    private func scale8(_ v: UInt16, _ depth: Int) -> UInt8 {
        switch depth {
        case 16: UInt8(v >> 8)
        case 8: UInt8(v)
        default: UInt8(Int(v) * 255 / ((1 << depth) - 1))
        }
    }

    @inline(__always)
    private func scale16(_ v: UInt16, _ depth: Int) -> UInt16 {
        depth == 16 ? v : UInt16(Int(v) * 65535 / ((1 << depth) - 1))
    }
}
