/// Marker-level JPEG parsing (T.81 Annex B): tables, frame, scans, and the
/// colour-space decision libjpeg makes (JFIF / Adobe / component ids).
struct JPEGComponent {
    let id: UInt8
    let h: Int
    let v: Int
    let quantIndex: Int
    /// Quantization table latched at the component's first scan (as libjpeg does).
    var quant: [Int]?
    /// Size of the component's sample grid: ceil(width * h / hmax) × ceil(height * v / vmax).
    var width = 0
    var height = 0
    /// Blocks allocated per row / column (whole MCUs).
    var blocksW = 0
    var blocksH = 0
    /// Offset of this component's first block in `JPEGDecoder.coefs`.
    var coefOffset = 0
    var dcTable = 0
    var acTable = 0
    var dcPred = 0
}

struct JPEGDecoder {
    let bytes: [UInt8]
    let limits: ImageLimits
    var width = 0
    var height = 0
    var progressive = false
    var components: [JPEGComponent] = []
    var hmax = 1
    var vmax = 1
    var mcusX = 0
    var mcusY = 0
    var quant: [[Int]?] = [nil, nil, nil, nil]
    var dcTables: [JPEGHuffmanTable?] = [nil, nil, nil, nil]
    var acTables: [JPEGHuffmanTable?] = [nil, nil, nil, nil]
    var restartInterval = 0
    var sawJFIF = false
    var adobeTransform: Int?
    var orientation = Orientation.up
    /// All components' DCT coefficients, natural (row-major) order, 64 per block;
    /// allocated (`coefTotal` entries) by the first scan that needs them.
    var coefs: [Int16] = []
    var coefTotal = 0
    /// Every component's samples after the IDCT (layout `planeLayout()`), when the first
    /// scan was a sequential one covering all components: libjpeg decodes such a file in a
    /// single pass straight to pixels, and so do we (later scans cannot change the image).
    var directSamples: [UInt8]?
    var eobrun = 0
    var sawFrame = false
    var scansDecoded = 0

    /// Threads a decode may use: above 1, larger single-pass images transform rows on a helper
    /// thread while this one entropy-decodes, and convert colours in two bands.
    let threads: Int
    /// `JPEG.DecodeOptions.parallelMinimumSamples`.
    let parallelMinimumSamples: Int

    init(_ bytes: [UInt8], limits: ImageLimits, threads: Int = 1, parallelMinimumSamples: Int = .max) {
        self.bytes = bytes
        self.limits = limits
        self.threads = threads
        self.parallelMinimumSamples = parallelMinimumSamples
    }

    func fail(_ kind: ImagingError.Kind, _ context: String?, _ offset: Int, _ message: String) -> ImagingError {
        ImagingError(kind, format: "JPEG", context: context, offset: offset, message)
    }

    mutating func run(headerOnly: Bool) throws(ImagingError) {
        guard bytes.count >= 2 else { throw fail(.truncated, nil, bytes.count, "file too short") }
        guard bytes[0] == 0xFF && bytes[1] == 0xD8 else { throw fail(.corrupt, nil, 0, "missing SOI marker (not a JPEG)") }
        var pos = 2
        while true {
            // Markers may be preceded by any number of 0xFF fill bytes.
            // A missing EOI means missing scans (progressive) or a cut file: Pillow refuses those too.
            guard pos + 1 < bytes.count else { throw fail(.truncated, nil, bytes.count, "file ends before EOI") }
            guard bytes[pos] == 0xFF else { throw fail(.corrupt, nil, pos, "expected a marker, found 0x\(String(bytes[pos], radix: 16))") }
            var mpos = pos + 1
            while mpos < bytes.count && bytes[mpos] == 0xFF { mpos += 1 }
            guard mpos < bytes.count else { throw fail(.truncated, nil, mpos, "file ends inside a marker") }
            let marker = bytes[mpos]
            let markerOffset = mpos - 1
            pos = mpos + 1
            let name = Self.markerName(marker)
            if marker == 0xD9 { break }                         // EOI
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }   // TEM, stray RSTn: no payload
            guard pos + 2 <= bytes.count else { throw fail(.truncated, name, markerOffset, "segment length missing") }
            let length = Int(bytes[pos]) << 8 | Int(bytes[pos + 1])
            guard length >= 2 else { throw fail(.corrupt, name, markerOffset, "segment length \(length) < 2") }
            guard pos + length <= bytes.count else {
                throw fail(.truncated, name, markerOffset, "segment of \(length) bytes runs past the end of the file")
            }
            let seg = Array(bytes[(pos + 2)..<(pos + length)])
            let segEnd = pos + length
            switch marker {
            case 0xC0, 0xC1, 0xC2:
                try parseFrame(seg, progressive: marker == 0xC2, offset: markerOffset, name: name)
            case 0xC3, 0xC5, 0xC6, 0xC7, 0xCB, 0xCD, 0xCE, 0xCF, 0xC9, 0xCA:
                let what = [0xC3: "lossless", 0xC5: "hierarchical", 0xC6: "hierarchical", 0xC7: "hierarchical",
                            0xCD: "hierarchical arithmetic-coded", 0xCE: "hierarchical arithmetic-coded",
                            0xCF: "hierarchical arithmetic-coded", 0xC9: "arithmetic-coded",
                            0xCA: "arithmetic-coded progressive", 0xCB: "arithmetic-coded lossless"][Int(marker)] ?? ""
                throw fail(.unsupported, name, markerOffset, "\(what) JPEG is not supported")
            case 0xC4: try parseHuffman(seg, offset: markerOffset)
            case 0xCC: throw fail(.unsupported, name, markerOffset, "arithmetic coding (DAC) is not supported")
            case 0xDB: try parseQuant(seg, offset: markerOffset)
            case 0xDD:
                guard seg.count >= 2 else { throw fail(.corrupt, name, markerOffset, "DRI segment too short") }
                restartInterval = Int(seg[0]) << 8 | Int(seg[1])
            case 0xDA:
                guard sawFrame else { throw fail(.corrupt, name, markerOffset, "SOS before SOF") }
                if headerOnly { return }
                pos = try decodeScan(header: seg, headerOffset: markerOffset, dataStart: segEnd)
                scansDecoded += 1
                continue
            case 0xE0:
                if seg.count >= 5 && Array(seg[0..<5]) == [0x4A, 0x46, 0x49, 0x46, 0] { sawJFIF = true }
            case 0xE1:
                if let o = EXIF.orientation(app1: seg) { orientation = o }
            case 0xEE:
                if seg.count >= 12 && Array(seg[0..<5]) == Array("Adobe".utf8) { adobeTransform = Int(seg[11]) }
            default:
                break   // APPn, COM, DNL and others: skipped
            }
            pos = segEnd
        }
        guard sawFrame else { throw fail(.corrupt, nil, pos, "no SOF marker before EOI") }
        if !headerOnly && scansDecoded == 0 { throw fail(.corrupt, nil, pos, "no scan before EOI") }
    }

    static func markerName(_ m: UInt8) -> String {
        switch m {
        case 0xC0...0xCF where m != 0xC4 && m != 0xC8 && m != 0xCC: "SOF\(m - 0xC0)"
        case 0xC4: "DHT"
        case 0xCC: "DAC"
        case 0xD0...0xD7: "RST\(m - 0xD0)"
        case 0xD8: "SOI"
        case 0xD9: "EOI"
        case 0xDA: "SOS"
        case 0xDB: "DQT"
        case 0xDD: "DRI"
        case 0xE0...0xEF: "APP\(m - 0xE0)"
        case 0xFE: "COM"
        default: "marker 0xFF\(String(m, radix: 16, uppercase: true))"
        }
    }

    // MARK: - Segments

    mutating func parseFrame(_ s: [UInt8], progressive: Bool, offset: Int, name: String) throws(ImagingError) {
        guard !sawFrame else { throw fail(.corrupt, name, offset, "more than one frame header") }
        guard s.count >= 6 else { throw fail(.corrupt, name, offset, "frame header too short") }
        guard s[0] == 8 else { throw fail(.unsupported, name, offset, "\(s[0])-bit samples are not supported (8-bit only)") }
        height = Int(s[1]) << 8 | Int(s[2])
        width = Int(s[3]) << 8 | Int(s[4])
        let n = Int(s[5])
        guard height > 0 else { throw fail(.unsupported, name, offset, "height 0 (DNL-defined height) is not supported") }
        try limits.check(width: width, height: height, format: "JPEG", context: name, offset: offset)
        guard n == 1 || n == 3 else {
            throw fail(.unsupported, name, offset, n == 4 ? "CMYK/YCCK (4-component) JPEG is not supported" : "\(n)-component JPEG is not supported")
        }
        guard s.count >= 6 + 3 * n else { throw fail(.corrupt, name, offset, "frame header too short for \(n) components") }
        for i in 0..<n {
            let b = 6 + 3 * i
            let h = Int(s[b + 1] >> 4), v = Int(s[b + 1] & 15), tq = Int(s[b + 2])
            guard (1...4).contains(h), (1...4).contains(v) else {
                throw fail(.corrupt, name, offset, "component \(s[b]) has sampling factors \(h)x\(v) (1...4 allowed)")
            }
            guard tq < 4 else { throw fail(.corrupt, name, offset, "component \(s[b]) uses quantization table \(tq)") }
            guard !components.contains(where: { $0.id == s[b] }) else {
                throw fail(.corrupt, name, offset, "duplicate component id \(s[b])")
            }
            components.append(JPEGComponent(id: s[b], h: h, v: v, quantIndex: tq))
        }
        // A single-component image is always coded non-interleaved with 1x1 MCUs, whatever its factors say.
        if n == 1 { components[0] = JPEGComponent(id: components[0].id, h: 1, v: 1, quantIndex: components[0].quantIndex) }
        hmax = components.map(\.h).max() ?? 1
        vmax = components.map(\.v).max() ?? 1
        for c in components where hmax % c.h != 0 || vmax % c.v != 0 {
            throw fail(.unsupported, name, offset, "non-integral sampling ratio for component \(c.id) (\(c.h)x\(c.v) of \(hmax)x\(vmax))")
        }
        mcusX = (width + 8 * hmax - 1) / (8 * hmax)
        mcusY = (height + 8 * vmax - 1) / (8 * vmax)
        var total = 0
        for i in components.indices {
            components[i].width = (width * components[i].h + hmax - 1) / hmax
            components[i].height = (height * components[i].v + vmax - 1) / vmax
            components[i].blocksW = mcusX * components[i].h
            components[i].blocksH = mcusY * components[i].v
            components[i].coefOffset = total
            total += components[i].blocksW * components[i].blocksH * 64
        }
        self.progressive = progressive
        sawFrame = true
        coefTotal = total
    }

    mutating func parseQuant(_ s: [UInt8], offset: Int) throws(ImagingError) {
        var i = 0
        while i < s.count {
            let pq = Int(s[i] >> 4), tq = Int(s[i] & 15)
            guard pq <= 1, tq < 4 else { throw fail(.corrupt, "DQT", offset, "invalid table precision \(pq) or id \(tq)") }
            let size = pq == 0 ? 64 : 128
            guard i + 1 + size <= s.count else { throw fail(.corrupt, "DQT", offset, "table \(tq) is cut short") }
            var table = [Int](repeating: 0, count: 64)
            for k in 0..<64 {
                let v = pq == 0 ? Int(s[i + 1 + k]) : Int(s[i + 1 + 2 * k]) << 8 | Int(s[i + 2 + 2 * k])
                table[JPEGZigzag.natural[k]] = v
            }
            quant[tq] = table
            i += 1 + size
        }
    }

    mutating func parseHuffman(_ s: [UInt8], offset: Int) throws(ImagingError) {
        var i = 0
        while i < s.count {
            guard i + 17 <= s.count else { throw fail(.corrupt, "DHT", offset, "table header cut short") }
            let tc = Int(s[i] >> 4), th = Int(s[i] & 15)
            guard tc <= 1, th < 4 else { throw fail(.corrupt, "DHT", offset, "invalid table class \(tc) or id \(th)") }
            let counts = (0..<16).map { Int(s[i + 1 + $0]) }
            let total = counts.reduce(0, +)
            guard total <= 256, i + 17 + total <= s.count else {
                throw fail(.corrupt, "DHT", offset, "table of \(total) symbols is cut short or too large")
            }
            let values = Array(s[(i + 17)..<(i + 17 + total)])
            let table = try JPEGHuffmanTable(counts: counts, values: values, offset: offset)
            if tc == 0 { dcTables[th] = table } else { acTables[th] = table }
            i += 17 + total
        }
    }

    func info() throws(ImagingError) -> JPEG.Info {
        guard sawFrame else { throw fail(.corrupt, nil, 0, "no frame header") }
        return JPEG.Info(width: width, height: height, components: components.count, progressive: progressive,
                         sampling: components.map { JPEG.Sampling(h: $0.h, v: $0.v) }, orientation: orientation,
                         restartInterval: restartInterval)
    }

    /// libjpeg's rule (jdapimin.c) for whether three components are YCbCr or RGB.
    var componentsAreRGB: Bool {
        guard components.count == 3 else { return false }
        if sawJFIF { return false }
        if let t = adobeTransform { return t == 0 }
        return components[0].id == 0x52 && components[1].id == 0x47 && components[2].id == 0x42
    }
}

enum JPEGZigzag {
    /// natural[k] = row-major index of the k-th coefficient in zigzag order.
    static let natural: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ]
}
