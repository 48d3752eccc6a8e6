/// Walks a PNG's chunks: validates signature, lengths, CRCs, IHDR and chunk
/// order, and gathers PLTE, tRNS and the IDAT stream.
struct PNGParser {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    let bytes: [UInt8]
    private(set) var info: PNGInfoBuilder.Result
    /// Concatenated IDAT payloads and the file offset of the first one.
    private(set) var idat: [UInt8] = []
    private(set) var idatOffset = 0

    init(_ bytes: [UInt8], limits: ImageLimits, wantPixels: Bool) throws(ImagingError) {
        self.bytes = bytes
        guard bytes.count >= 8 else { throw ImagingError(.truncated, format: "PNG", offset: bytes.count, "file too short for the signature") }
        guard Array(bytes[0..<8]) == Self.signature else { throw ImagingError(.corrupt, format: "PNG", offset: 0, "not a PNG signature") }
        var builder = PNGInfoBuilder()
        var pos = 8
        var sawIEND = false
        var lastWasIDAT = false
        var idatDone = false
        while !sawIEND {
            guard pos + 8 <= bytes.count else {
                throw ImagingError(.truncated, format: "PNG", offset: pos, "file ends before IEND")
            }
            let length = Int(be32(bytes, pos))
            let typeBytes = Array(bytes[(pos + 4)..<(pos + 8)])
            let type = String(decoding: typeBytes.map { (0x20...0x7E).contains($0) ? $0 : 0x3F }, as: UTF8.self)
            guard length <= 0x7FFF_FFFF else {
                throw ImagingError(.corrupt, format: "PNG", context: "chunk \(type)", offset: pos, "chunk length \(length) exceeds 2^31-1")
            }
            guard typeBytes.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                throw ImagingError(.corrupt, format: "PNG", context: "chunk \(type)", offset: pos + 4, "invalid chunk type")
            }
            let dataStart = pos + 8
            guard dataStart + length + 4 <= bytes.count else {
                throw ImagingError(.truncated, format: "PNG", context: "chunk \(type)", offset: pos,
                                   "chunk of \(length) bytes runs past the end of the file (\(bytes.count) bytes)")
            }
            let stored = be32(bytes, dataStart + length)
            let crc = Checksum.crc32(bytes[(pos + 4)..<(dataStart + length)])
            guard stored == crc else {
                throw ImagingError(.checksum, format: "PNG", context: "chunk \(type)", offset: dataStart + length,
                                   "CRC mismatch (stored \(hex(stored)), computed \(hex(crc)))")
            }
            let data = bytes[dataStart..<(dataStart + length)]
            if builder.header == nil && type != "IHDR" {
                throw ImagingError(.corrupt, format: "PNG", context: "chunk \(type)", offset: pos, "first chunk must be IHDR")
            }
            if lastWasIDAT && type != "IDAT" { idatDone = true }
            switch type {
            case "IHDR":
                try builder.header(data, offset: pos, limits: limits)
            case "PLTE":
                try builder.palette(data, offset: pos)
            case "tRNS":
                try builder.transparency(data, offset: pos)
            case "IDAT":
                guard !idatDone else {
                    throw ImagingError(.corrupt, format: "PNG", context: "chunk IDAT", offset: pos, "IDAT chunks are not consecutive")
                }
                if idat.isEmpty { idatOffset = dataStart }
                if wantPixels { idat.append(contentsOf: data) }
                builder.sawIDAT = true
            case "IEND":
                sawIEND = true
            default:
                // Bit 5 of the first byte clear = critical: we may not ignore what we don't understand.
                if typeBytes[0] & 0x20 == 0 {
                    throw ImagingError(.unsupported, format: "PNG", context: "chunk \(type)", offset: pos, "unknown critical chunk")
                }
            }
            lastWasIDAT = type == "IDAT"
            pos = dataStart + length + 4
            if !wantPixels && builder.sawIDAT { break }
        }
        self.info = try builder.finish(fileSize: bytes.count)
    }

    /// The decompressed filtered scanlines, exactly as long as the header requires.
    func inflatedScanlines() throws(ImagingError) -> [UInt8] {
        let expected = PNGLayout(info).rawSize
        let raw = try Zlib.decompress(idat, maxOutput: expected, format: "PNG", context: "IDAT", baseOffset: idatOffset)
        guard raw.count == expected else {
            throw ImagingError(.truncated, format: "PNG", context: "IDAT", offset: idatOffset,
                               "image data holds \(raw.count) of \(expected) bytes")
        }
        return raw
    }
}

@inline(__always)
func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}

/// Accumulates and validates header-level chunks.
struct PNGInfoBuilder {
    typealias Result = PNG.Info
    var header: PNG.Info?
    var sawIDAT = false

    mutating func header(_ d: ArraySlice<UInt8>, offset: Int, limits: ImageLimits) throws(ImagingError) {
        func bad(_ m: String) -> ImagingError { ImagingError(.corrupt, format: "PNG", context: "chunk IHDR", offset: offset, m) }
        guard header == nil else { throw bad("duplicate IHDR") }
        guard d.count == 13 else { throw bad("IHDR is \(d.count) bytes, not 13") }
        let b = Array(d)
        let w = Int(be32(b, 0)), h = Int(be32(b, 4))
        let depth = Int(b[8])
        guard let ct = PNG.ColorType(rawValue: b[9]) else { throw bad("invalid colour type \(b[9])") }
        let allowed: [Int] = switch ct {
        case .gray: [1, 2, 4, 8, 16]
        case .palette: [1, 2, 4, 8]
        default: [8, 16]
        }
        guard allowed.contains(depth) else { throw bad("bit depth \(depth) is invalid for colour type \(ct.rawValue)") }
        guard b[10] == 0 else { throw bad("unknown compression method \(b[10])") }
        guard b[11] == 0 else { throw bad("unknown filter method \(b[11])") }
        guard b[12] <= 1 else { throw bad("unknown interlace method \(b[12])") }
        try limits.check(width: w, height: h, format: "PNG", context: "chunk IHDR", offset: offset)
        header = PNG.Info(width: w, height: h, bitDepth: depth, colorType: ct, interlaced: b[12] == 1,
                          palette: nil, transparency: nil)
    }

    mutating func palette(_ d: ArraySlice<UInt8>, offset: Int) throws(ImagingError) {
        guard var h = header else { return }
        guard !sawIDAT, h.palette == nil else {
            throw ImagingError(.corrupt, format: "PNG", context: "chunk PLTE", offset: offset, "PLTE after IDAT or duplicated")
        }
        guard d.count % 3 == 0, d.count >= 3, d.count / 3 <= 256 else {
            throw ImagingError(.corrupt, format: "PNG", context: "chunk PLTE", offset: offset, "PLTE length \(d.count) is invalid")
        }
        if h.colorType == .gray || h.colorType == .grayAlpha {
            throw ImagingError(.corrupt, format: "PNG", context: "chunk PLTE", offset: offset, "PLTE in a grayscale image")
        }
        let b = Array(d)
        h.palette = stride(from: 0, to: b.count, by: 3).map { RGB(b[$0], b[$0 + 1], b[$0 + 2]) }
        header = h
    }

    mutating func transparency(_ d: ArraySlice<UInt8>, offset: Int) throws(ImagingError) {
        guard var h = header else { return }
        func bad(_ m: String) -> ImagingError { ImagingError(.corrupt, format: "PNG", context: "chunk tRNS", offset: offset, m) }
        switch h.colorType {
        case .palette:
            guard let p = h.palette else { throw bad("tRNS before PLTE") }
            guard d.count <= p.count else { throw bad("\(d.count) alphas for \(p.count) palette entries") }
        case .gray: guard d.count == 2 else { throw bad("gray tRNS must be 2 bytes") }
        case .rgb: guard d.count == 6 else { throw bad("RGB tRNS must be 6 bytes") }
        default: throw bad("tRNS not allowed with an alpha channel")
        }
        h.transparency = Array(d)
        header = h
    }

    func finish(fileSize: Int) throws(ImagingError) -> PNG.Info {
        guard let h = header else { throw ImagingError(.corrupt, format: "PNG", offset: 8, "no IHDR") }
        guard sawIDAT else { throw ImagingError(.corrupt, format: "PNG", offset: fileSize, "no IDAT chunk") }
        if h.colorType == .palette && h.palette == nil {
            throw ImagingError(.corrupt, format: "PNG", context: "chunk PLTE", offset: fileSize, "palette image without PLTE")
        }
        return h
    }
}

/// Sizes of the filtered scanlines of each interlace pass.
struct PNGLayout {
    struct Pass { let x0, y0, dx, dy, width, height, rowBytes: Int }
    let passes: [Pass]
    let bytesPerPixel: Int
    let rawSize: Int

    static let adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

    init(_ info: PNG.Info) {
        let bitsPerPixel = info.colorType.samplesPerPixel * info.bitDepth
        let specs = info.interlaced ? Self.adam7 : [(0, 0, 1, 1)]
        var passes: [Pass] = []
        var size = 0
        for (x0, y0, dx, dy) in specs {
            let w = info.width > x0 ? (info.width - x0 + dx - 1) / dx : 0
            let h = info.height > y0 ? (info.height - y0 + dy - 1) / dy : 0
            let rowBytes = (w * bitsPerPixel + 7) / 8
            passes.append(Pass(x0: x0, y0: y0, dx: dx, dy: dy, width: w, height: h, rowBytes: rowBytes))
            if w > 0 && h > 0 { size += h * (rowBytes + 1) }
        }
        self.passes = passes
        self.bytesPerPixel = max(1, bitsPerPixel / 8)
        self.rawSize = size
    }
}
