/// PNG encoding: 8-bit gray, RGB, RGBA, and 8-bit palette images (masks).
extension PNG {
    public enum FilterStrategy: Sendable, Equatable {
        /// Per row, the filter with the smallest sum of absolute (signed)
        /// residuals: libpng's default heuristic for non-palette images.
        case adaptive
        /// One filter (0...4) for every row.
        case fixed(UInt8)
    }

    public struct EncodeOptions: Sendable, Equatable {
        /// nil: adaptive for gray/RGB/RGBA, none for palette images (libpng's defaults;
        /// prediction makes little sense for indices).
        public var filter: FilterStrategy?
        public var deflate: DeflateOptions

        public init(filter: FilterStrategy? = nil, deflate: DeflateOptions = .default) {
            self.filter = filter
            self.deflate = deflate
        }
    }

    /// Encodes an 8-bit image: 1 channel → gray, 3 → RGB, 4 → RGBA.
    public static func encode(_ image: Image, options: EncodeOptions = .init()) throws(ImagingError) -> [UInt8] {
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
    public static func encodeIndexed(_ indices: Image, palette: [RGB], alphas: [UInt8]? = nil,
                                     options: EncodeOptions = .init()) throws(ImagingError) -> [UInt8] {
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
        return try write(indices, type: .palette, palette: palette, alphas: alphas, filter: options.filter ?? .fixed(0),
                         deflate: options.deflate)
    }

    private static func write(_ image: Image, type: ColorType, palette: [RGB]?, alphas: [UInt8]?,
                              filter: FilterStrategy, deflate: DeflateOptions) throws(ImagingError) -> [UInt8] {
        if case .fixed(let f) = filter, f > 4 {
            throw ImagingError(.invalidArgument, format: "PNG", "filter type \(f) does not exist (0...4)")
        }
        var out = PNGParser.signature
        var ihdr = [UInt8]()
        appendBE32(&ihdr, UInt32(image.width))
        appendBE32(&ihdr, UInt32(image.height))
        ihdr += [8, type.rawValue, 0, 0, 0]
        appendChunk(&out, "IHDR", ihdr)
        if let palette {
            appendChunk(&out, "PLTE", palette.flatMap { [$0.r, $0.g, $0.b] })
            if let alphas, !alphas.isEmpty { appendChunk(&out, "tRNS", alphas) }
        }
        let filtered = filterRows(image, strategy: filter)
        appendChunk(&out, "IDAT", Zlib.compress(filtered, options: deflate))
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
        for y in 0..<image.height {
            let cur = y * n, prev = cur - n
            let types: [UInt8] = if case .fixed(let f) = strategy { [f] } else { [0, 1, 2, 3, 4] }
            var bestScore = Int.max
            var bestType: UInt8 = 0
            for t in types {
                var score = 0
                for i in 0..<n {
                    let x = Int(px[cur + i])
                    let a = i >= bpp ? Int(px[cur + i - bpp]) : 0
                    let b = y > 0 ? Int(px[prev + i]) : 0
                    let c = (y > 0 && i >= bpp) ? Int(px[prev + i - bpp]) : 0
                    let pred: Int
                    switch t {
                    case 0: pred = 0
                    case 1: pred = a
                    case 2: pred = b
                    case 3: pred = (a + b) >> 1
                    default:
                        let pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c)
                        pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                    }
                    let r = UInt8(truncatingIfNeeded: x - pred)
                    candidate[i] = r
                    score += r < 128 ? Int(r) : 256 - Int(r)
                }
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

    private static func appendBE32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    private static func appendChunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
        appendBE32(&out, UInt32(data.count))
        let typed = Array(type.utf8) + data
        out += typed
        appendBE32(&out, Checksum.crc32(typed))
    }
}
