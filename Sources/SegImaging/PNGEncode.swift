/// PNG encoding: 8-bit gray, RGB, RGBA, and 8-bit palette images (masks).
extension PNG {
    package enum FilterStrategy: Sendable, Equatable {
        /// Per row, the filter with the smallest sum of absolute (signed)
        /// residuals: libpng's default heuristic for non-palette images.
        case adaptive
        /// One filter (0...4) for every row.
        case fixed(UInt8)
    }

    package struct EncodeOptions: Sendable, Equatable {
        /// nil: adaptive for gray/RGB/RGBA, none for palette images (libpng's defaults;
        /// prediction makes little sense for indices).
        package var filter: FilterStrategy?
        package var deflate: DeflateOptions

        package init(filter: FilterStrategy? = nil, deflate: DeflateOptions = .default) {
            self.filter = filter
            self.deflate = deflate
        }
    }

    /// Encodes an 8-bit image: 1 channel → gray, 3 → RGB, 4 → RGBA.
    package static func encode(_ image: Image, options: EncodeOptions = .init()) throws(ImagingError) -> [UInt8] {
        let type: ColorType = switch image.channels {
        case 1: .gray
        case 3: .rgb
        default: .rgba
        }
        return try write(image, type: type, palette: nil, alphas: nil, filter: options.filter ?? .adaptive,
                         deflate: options.deflate)
    }

    /// Encodes a one-channel image of palette indices with the given colours
    /// (and optional per-entry alpha → tRNS). Every index must have a colour.
    package static func encodeIndexed(_ indices: Image, palette: [RGB], alphas: [UInt8]? = nil,
                                     options: EncodeOptions = .init()) throws(ImagingError) -> [UInt8] {
        try checkIndexed(indices, palette: palette, alphas: alphas)
        return try write(indices, type: .palette, palette: palette, alphas: alphas, filter: options.filter ?? .fixed(0),
                         deflate: options.deflate)
    }

    static func checkIndexed(_ indices: Image, palette: [RGB], alphas: [UInt8]?) throws(ImagingError) {
        guard indices.channels == 1 else {
            throw ImagingError(.invalidArgument, format: "PNG", "palette encoding needs 1 channel of indices, not \(indices.channels)")
        }
        guard !palette.isEmpty, palette.count <= 256 else {
            throw ImagingError(.invalidArgument, format: "PNG", "palette has \(palette.count) entries; 1...256 allowed")
        }
        if let alphas, alphas.count > palette.count {
            throw ImagingError(.invalidArgument, format: "PNG", "\(alphas.count) alphas for \(palette.count) colours")
        }
        if let bad = indices.pixels.first(where: { Int($0) >= palette.count }) {
            throw ImagingError(.invalidArgument, format: "PNG", "index \(bad) has no palette entry (palette has \(palette.count))")
        }
    }

    private static func write(_ image: Image, type: ColorType, palette: [RGB]?, alphas: [UInt8]?,
                              filter: FilterStrategy, deflate: DeflateOptions) throws(ImagingError) -> [UInt8] {
        if case .fixed(let f) = filter, f > 4 {
            throw ImagingError(.invalidArgument, format: "PNG", "filter type \(f) does not exist (0...4)")
        }
        let filtered = filterRows(image, strategy: filter)
        return container(image, type: type, palette: palette, alphas: alphas, idat: .whole(Zlib.compress(filtered, options: deflate)))
    }

    /// Signature, IHDR, PLTE/tRNS for palette images, the one IDAT and IEND.
    /// The IDAT chunk's data: one array, or pieces written back to back with their total
    /// length and the chunk's CRC (over the type and the data) computed by the caller.
    enum IDATData {
        case whole([UInt8])
        case pieces([[UInt8]], length: Int, crc: UInt32)
    }

    static func container(_ image: Image, type: ColorType, palette: [RGB]?, alphas: [UInt8]?, idat: IDATData) -> [UInt8] {
        var out = PNGParser.signature
        let idatLength: Int = switch idat {
        case .whole(let bytes): bytes.count
        case .pieces(_, let length, _): length
        }
        out.reserveCapacity(idatLength + 128 + (palette?.count ?? 0) * 4)
        var ihdr = [UInt8]()
        appendBE32(&ihdr, UInt32(image.width))
        appendBE32(&ihdr, UInt32(image.height))
        ihdr += [8, type.rawValue, 0, 0, 0]
        appendChunk(&out, "IHDR", ihdr)
        if let palette {
            appendChunk(&out, "PLTE", palette.flatMap { [$0.r, $0.g, $0.b] })
            if let alphas, !alphas.isEmpty { appendChunk(&out, "tRNS", alphas) }
        }
        switch idat {
        case .whole(let bytes):
            appendChunk(&out, "IDAT", bytes)
        case .pieces(let pieces, let length, let crc):
            appendBE32(&out, UInt32(length))
            out += Array("IDAT".utf8)
            for piece in pieces { out += piece }
            appendBE32(&out, crc)
        }
        appendChunk(&out, "IEND", [])
        return out
    }

    static func filterRows(_ image: Image, strategy: FilterStrategy) -> [UInt8] {
        let bpp = image.channels
        let n = image.width * bpp
        let px = image.pixels
        var out = [UInt8]()
        out.reserveCapacity((n + 1) * image.height)
        var candidate = [UInt8](repeating: 0, count: n)
        var best = [UInt8](repeating: 0, count: n)
        let zeros = [UInt8](repeating: 0, count: n)
        let types: [UInt8] = if case .fixed(let f) = strategy { [f] } else { [0, 1, 2, 3, 4] }
        for y in 0..<image.height {
            let cur = Array(px[(y * n)..<((y + 1) * n)])
            let prev = y > 0 ? Array(px[((y - 1) * n)..<(y * n)]) : zeros
            var bestScore = Int.max
            var bestType: UInt8 = 0
            for t in types {
                residuals(t, cur, prev, bpp, &candidate)
                var score = 0
                for r in candidate { score += r < 128 ? Int(r) : 256 - Int(r) }
                if score < bestScore {
                    bestScore = score
                    bestType = t
                    swap(&best, &candidate)
                }
            }
            out.append(bestType)
            out.append(contentsOf: best)
        }
        return out
    }

    /// Filter `t` applied to one row (PNG spec §9.2); one loop per type keeps the inner loops branch-free.
    private static func residuals(_ t: UInt8, _ cur: [UInt8], _ prev: [UInt8], _ bpp: Int, _ out: inout [UInt8]) {
        let n = cur.count
        switch t {
        case 0:
            for i in 0..<n { out[i] = cur[i] }
        case 1:
            for i in 0..<min(bpp, n) { out[i] = cur[i] }
            if n > bpp { for i in bpp..<n { out[i] = cur[i] &- cur[i - bpp] } }
        case 2:
            for i in 0..<n { out[i] = cur[i] &- prev[i] }
        case 3:
            for i in 0..<min(bpp, n) { out[i] = cur[i] &- prev[i] >> 1 }
            if n > bpp {
                for i in bpp..<n { out[i] = cur[i] &- UInt8((Int(cur[i - bpp]) + Int(prev[i])) >> 1) }
            }
        default:
            for i in 0..<min(bpp, n) { out[i] = cur[i] &- prev[i] }   // Paeth with a = c = 0 predicts b
            if n > bpp {
                for i in bpp..<n {
                    let a = Int(cur[i - bpp]), b = Int(prev[i]), c = Int(prev[i - bpp])
                    let pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c)
                    out[i] = cur[i] &- UInt8((pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c))
                }
            }
        }
    }

    private static func appendBE32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    private static func appendChunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
        appendBE32(&out, UInt32(data.count))
        let tag = Array(type.utf8)
        out += tag
        out += data
        appendBE32(&out, Checksum.crc32(data, crc: Checksum.crc32(tag)))
    }
}
