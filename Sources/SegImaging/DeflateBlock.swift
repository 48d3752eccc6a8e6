/// Collects one block's LZ77 symbols and writes it in the cheapest of the
/// three deflate encodings.
struct DeflateBlockWriter {
    /// Literal byte (0...255) or 256 + match length.
    private var litLen: [UInt16] = []
    /// 0 for literals, else the match distance.
    private var dist: [UInt16] = []

    var symbolCount: Int { litLen.count }

    mutating func literal(_ b: UInt8) {
        litLen.append(UInt16(b))
        dist.append(0)
    }

    mutating func match(length: Int, distance: Int) {
        litLen.append(UInt16(256 + length))
        dist.append(UInt16(distance))
    }

    // MARK: - Symbol tables

    /// Length (3...258) → symbol index 0...28 (symbol 257 + index).
    static let lengthCode: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 259)
        for code in 0..<29 {
            let base = Inflate.lengthBase[code]
            let top = code == 28 ? 258 : Inflate.lengthBase[code + 1] - 1
            for l in base...top where l <= 258 { t[l] = UInt8(code) }
        }
        t[258] = 28
        return t
    }()

    static func distCode(_ d: Int) -> Int {
        var code = 0
        while code < 29 && Inflate.distBase[code + 1] <= d { code += 1 }
        return code
    }

    static let fixedLitLengths: [Int] = (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 }
    static let fixedDistLengths = [Int](repeating: 5, count: 30)

    static func writeFixedEmpty(_ w: inout DeflateBitWriter) {
        w.write(1, 1)
        w.write(1, 2)
        w.write(0, 7)   // end of block: symbol 256 is the 7-bit code 0000000
    }

    // MARK: - Writing

    func write(_ w: inout DeflateBitWriter, raw: ArraySlice<UInt8>, final: Bool) {
        // Precompute symbol indices once; distance codes via a small search (30 entries).
        var litFreq = [Int](repeating: 0, count: 286)
        var distFreq = [Int](repeating: 0, count: 30)
        var dcodes = [UInt8](repeating: 0, count: dist.count)
        var extraBits = 0
        for k in 0..<litLen.count {
            let s = Int(litLen[k])
            if s < 256 {
                litFreq[s] += 1
            } else {
                let lc = Int(Self.lengthCode[s - 256])
                litFreq[257 + lc] += 1
                extraBits += Inflate.lengthExtra[lc]
                let dc = Self.distCode(Int(dist[k]))
                dcodes[k] = UInt8(dc)
                distFreq[dc] += 1
                extraBits += Inflate.distExtra[dc]
            }
        }
        litFreq[256] = 1

        let litLengths = HuffmanBuilder.lengths(freqs: litFreq, limit: 15)
        let distLengths = HuffmanBuilder.lengths(freqs: distFreq, limit: 15)
        let header = DynamicHeader(litLengths: litLengths, distLengths: distLengths)

        func cost(_ ll: [Int], _ dl: [Int]) -> Int {
            var c = extraBits
            for i in 0..<286 { c += litFreq[i] * ll[i] }
            for i in 0..<30 { c += distFreq[i] * dl[i] }
            return c
        }
        let dynamicBits = 3 + header.bits + cost(litLengths, distLengths)
        let fixedBits = 3 + cost(Self.fixedLitLengths, Self.fixedDistLengths)
        // Stored: per 65535-byte piece 3 bits + alignment (≤ 7) + 32 bits of LEN/NLEN.
        let pieces = max(1, (raw.count + 65534) / 65535)
        let storedBits = raw.count * 8 + pieces * (3 + 7 + 32)

        if storedBits < dynamicBits && storedBits < fixedBits {
            writeStored(&w, raw: raw, final: final)
        } else if fixedBits <= dynamicBits {
            w.write(final ? 1 : 0, 1)
            w.write(1, 2)
            writeSymbols(&w, dcodes, Self.fixedLitLengths, Self.fixedDistLengths)
        } else {
            w.write(final ? 1 : 0, 1)
            w.write(2, 2)
            header.write(&w)
            writeSymbols(&w, dcodes, litLengths, distLengths)
        }
    }

    private func writeStored(_ w: inout DeflateBitWriter, raw: ArraySlice<UInt8>, final: Bool) {
        var start = raw.startIndex
        repeat {
            let len = min(65535, raw.endIndex - start)
            let last = start + len == raw.endIndex
            w.write(final && last ? 1 : 0, 1)
            w.write(0, 2)
            w.alignToByte()
            w.write(UInt32(len & 0xFFFF), 16)
            w.write(UInt32(~len & 0xFFFF), 16)
            for b in raw[start..<(start + len)] { w.write(UInt32(b), 8) }
            start += len
        } while start < raw.endIndex
    }

    private func writeSymbols(_ w: inout DeflateBitWriter, _ dcodes: [UInt8], _ ll: [Int], _ dl: [Int]) {
        let lcodes = HuffmanBuilder.reversedCodes(lengths: ll)
        let dcodesTable = HuffmanBuilder.reversedCodes(lengths: dl)
        for k in 0..<litLen.count {
            let s = Int(litLen[k])
            if s < 256 {
                w.write(lcodes[s], ll[s])
                continue
            }
            let length = s - 256
            let lc = Int(Self.lengthCode[length])
            w.write(lcodes[257 + lc], ll[257 + lc])
            w.write(UInt32(length - Inflate.lengthBase[lc]), Inflate.lengthExtra[lc])
            let dc = Int(dcodes[k])
            w.write(dcodesTable[dc], dl[dc])
            w.write(UInt32(Int(dist[k]) - Inflate.distBase[dc]), Inflate.distExtra[dc])
        }
        w.write(lcodes[256], ll[256])
    }
}

/// The code-length header of a dynamic block (RFC 1951 §3.2.7), run-length coded.
struct DynamicHeader {
    let hlit: Int
    let hdist: Int
    let hclen: Int
    /// (symbol 0...18, extra-bit value)
    let runs: [(Int, Int)]
    let clLengths: [Int]
    let bits: Int

    init(litLengths: [Int], distLengths: [Int]) {
        var hlit = 286
        while hlit > 257 && litLengths[hlit - 1] == 0 { hlit -= 1 }
        var hdist = 30
        while hdist > 1 && distLengths[hdist - 1] == 0 { hdist -= 1 }
        let all = Array(litLengths[0..<hlit]) + Array(distLengths[0..<hdist])
        var runs: [(Int, Int)] = []
        var i = 0
        while i < all.count {
            let v = all[i]
            var run = 1
            while i + run < all.count && all[i + run] == v { run += 1 }
            var left = run
            if v == 0 {
                while left >= 11 { let r = min(left, 138); runs.append((18, r - 11)); left -= r }
                if left >= 3 { runs.append((17, left - 3)); left = 0 }
            } else {
                runs.append((v, 0))
                left -= 1
                while left >= 3 { let r = min(left, 6); runs.append((16, r - 3)); left -= r }
            }
            for _ in 0..<left { runs.append((v, 0)) }
            i += run
        }
        var freq = [Int](repeating: 0, count: 19)
        for (s, _) in runs { freq[s] += 1 }
        let cl = HuffmanBuilder.lengths(freqs: freq, limit: 7)
        var hclen = 19
        while hclen > 4 && cl[Inflate.codeLengthOrder[hclen - 1]] == 0 { hclen -= 1 }
        var bits = 5 + 5 + 4 + 3 * hclen
        for (s, _) in runs { bits += cl[s] + (s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0) }
        self.hlit = hlit
        self.hdist = hdist
        self.hclen = hclen
        self.runs = runs
        self.clLengths = cl
        self.bits = bits
    }

    func write(_ w: inout DeflateBitWriter) {
        w.write(UInt32(hlit - 257), 5)
        w.write(UInt32(hdist - 1), 5)
        w.write(UInt32(hclen - 4), 4)
        for i in 0..<hclen { w.write(UInt32(clLengths[Inflate.codeLengthOrder[i]]), 3) }
        let codes = HuffmanBuilder.reversedCodes(lengths: clLengths)
        for (s, extra) in runs {
            w.write(codes[s], clLengths[s])
            switch s {
            case 16: w.write(UInt32(extra), 2)
            case 17: w.write(UInt32(extra), 3)
            case 18: w.write(UInt32(extra), 7)
            default: break
            }
        }
    }
}
