/// Entropy decoding of one scan into the coefficient store: sequential
/// (baseline/extended) blocks and the four progressive passes of T.81 G.1.2.
extension JPEGDecoder {
    /// Decodes the scan whose header is `header`; returns the offset of the marker that follows its data.
    mutating func decodeScan(header s: [UInt8], headerOffset: Int, dataStart: Int) throws(ImagingError) -> Int {
        guard !s.isEmpty else { throw fail(.corrupt, "SOS", headerOffset, "empty scan header") }
        let n = Int(s[0])
        guard (1...4).contains(n), s.count >= 1 + 2 * n + 3 else {
            throw fail(.corrupt, "SOS", headerOffset, "scan header for \(n) components is malformed")
        }
        var scanComps: [Int] = []
        for i in 0..<n {
            let id = s[1 + 2 * i], tables = s[2 + 2 * i]
            guard let ci = components.firstIndex(where: { $0.id == id }) else {
                throw fail(.corrupt, "SOS", headerOffset, "scan refers to unknown component \(id)")
            }
            guard !scanComps.contains(ci) else { throw fail(.corrupt, "SOS", headerOffset, "component \(id) listed twice") }
            let td = Int(tables >> 4), ta = Int(tables & 15)
            guard td < 4, ta < 4 else { throw fail(.corrupt, "SOS", headerOffset, "invalid Huffman table ids \(td)/\(ta)") }
            components[ci].dcTable = td
            components[ci].acTable = ta
            scanComps.append(ci)
        }
        let ss = Int(s[1 + 2 * n]), se = Int(s[2 + 2 * n])
        let ah = Int(s[3 + 2 * n] >> 4), al = Int(s[3 + 2 * n] & 15)
        if progressive {
            let valid = ss <= se && se <= 63 && (ss == 0 ? se == 0 : n == 1) && al <= 13 && ah <= 13
            guard valid else {
                throw fail(.corrupt, "SOS", headerOffset, "invalid progressive parameters Ss=\(ss) Se=\(se) Ah=\(ah) Al=\(al)")
            }
        }
        // Tables needed by this scan must exist now.
        for ci in scanComps {
            if components[ci].quant == nil {
                guard let q = quant[components[ci].quantIndex] else {
                    throw fail(.corrupt, "SOS", headerOffset, "quantization table \(components[ci].quantIndex) is not defined")
                }
                components[ci].quant = q
            }
            let needDC = !progressive || (ss == 0 && ah == 0)
            let needAC = !progressive || ss > 0
            if needDC && dcTables[components[ci].dcTable] == nil {
                throw fail(.corrupt, "SOS", headerOffset, "DC Huffman table \(components[ci].dcTable) is not defined")
            }
            if needAC && acTables[components[ci].acTable] == nil {
                throw fail(.corrupt, "SOS", headerOffset, "AC Huffman table \(components[ci].acTable) is not defined")
            }
        }
        for ci in scanComps { components[ci].dcPred = 0 }
        eobrun = 0

        var r = JPEGBitReader(bytes, start: dataStart)
        let single = scanComps.count == 1
        let c0 = components[scanComps[0]]
        // Non-interleaved scans cover only the blocks that hold image samples.
        let unitsX = single ? (c0.width + 7) / 8 : mcusX
        let unitsY = single ? (c0.height + 7) / 8 : mcusY
        let totalUnits = unitsX * unitsY
        var restartsSeen = 0
        for unit in 0..<totalUnits {
            if restartInterval > 0 && unit > 0 && unit % restartInterval == 0 {
                guard let (code, off) = r.nextMarker(), code == 0xD0 + UInt8(restartsSeen % 8) else {
                    throw fail(.corrupt, "SOS", r.offset, "expected restart marker RST\(restartsSeen % 8)")
                }
                _ = off
                restartsSeen += 1
                for ci in scanComps { components[ci].dcPred = 0 }
                eobrun = 0
            }
            let ux = unit % unitsX, uy = unit / unitsX
            if single {
                try decodeBlock(&r, comp: scanComps[0], bx: ux, by: uy, ss: ss, se: se, ah: ah, al: al)
            } else {
                for ci in scanComps {
                    let c = components[ci]
                    for v in 0..<c.v {
                        for h in 0..<c.h {
                            try decodeBlock(&r, comp: ci, bx: ux * c.h + h, by: uy * c.v + v, ss: ss, se: se, ah: ah, al: al)
                        }
                    }
                }
            }
        }
        return r.endOfScan()
    }

    @inline(__always)
    private mutating func decodeBlock(_ r: inout JPEGBitReader, comp ci: Int, bx: Int, by: Int,
                                      ss: Int, se: Int, ah: Int, al: Int) throws(ImagingError) {
        let c = components[ci]
        let base = c.coefOffset + (by * c.blocksW + bx) * 64
        if !progressive {
            try decodeSequential(&r, ci: ci, base: base)
        } else if ss == 0 {
            if ah == 0 {
                guard let dc = dcTables[c.dcTable] else { return }
                let t = try dc.decode(&r)
                guard t <= 11 else { throw fail(.corrupt, "scan data", r.offset, "DC magnitude category \(t) > 11") }
                components[ci].dcPred += try r.receiveExtend(t)
                coefs[base] = Int16(truncatingIfNeeded: components[ci].dcPred << al)
            } else if try r.bits(1) == 1 {
                coefs[base] |= Int16(truncatingIfNeeded: 1 << al)
            }
        } else if ah == 0 {
            try decodeACFirst(&r, table: c.acTable, base: base, ss: ss, se: se, al: al)
        } else {
            try decodeACRefine(&r, table: c.acTable, base: base, ss: ss, se: se, al: al)
        }
    }

    private mutating func decodeSequential(_ r: inout JPEGBitReader, ci: Int, base: Int) throws(ImagingError) {
        guard let dc = dcTables[components[ci].dcTable], let ac = acTables[components[ci].acTable] else { return }
        let t = try dc.decode(&r)
        guard t <= 11 else { throw fail(.corrupt, "scan data", r.offset, "DC magnitude category \(t) > 11") }
        components[ci].dcPred += try r.receiveExtend(t)
        coefs[base] = Int16(truncatingIfNeeded: components[ci].dcPred)
        var k = 1
        while k < 64 {
            let rs = try ac.decode(&r)
            let run = rs >> 4, size = rs & 15
            if size == 0 {
                if run != 15 { break }
                k += 16
                continue
            }
            k += run
            guard k < 64 else { throw fail(.corrupt, "scan data", r.offset, "AC coefficient index beyond 63") }
            coefs[base + JPEGZigzag.natural[k]] = Int16(truncatingIfNeeded: try r.receiveExtend(size))
            k += 1
        }
    }

    private mutating func decodeACFirst(_ r: inout JPEGBitReader, table: Int, base: Int, ss: Int, se: Int,
                                        al: Int) throws(ImagingError) {
        if eobrun > 0 {
            eobrun -= 1
            return
        }
        guard let ac = acTables[table] else { return }
        var k = ss
        while k <= se {
            let rs = try ac.decode(&r)
            let run = rs >> 4, size = rs & 15
            if size == 0 {
                if run < 15 {
                    eobrun = (1 << run) - 1
                    if run > 0 { eobrun += try r.bits(run) }
                    break
                }
                k += 16
                continue
            }
            k += run
            guard k <= se else { throw fail(.corrupt, "scan data", r.offset, "AC coefficient index beyond the band end") }
            coefs[base + JPEGZigzag.natural[k]] = Int16(truncatingIfNeeded: (try r.receiveExtend(size)) << al)
            k += 1
        }
    }

    /// Successive-approximation refinement (T.81 G.1.2.3): one correction bit per
    /// already-nonzero coefficient in the band, new ±1 coefficients placed after runs of zeros.
    private mutating func decodeACRefine(_ r: inout JPEGBitReader, table: Int, base: Int, ss: Int, se: Int,
                                         al: Int) throws(ImagingError) {
        let p1 = 1 << al, m1 = -1 << al
        var k = ss
        if eobrun == 0 {
            guard let ac = acTables[table] else { return }
            while k <= se {
                let rs = try ac.decode(&r)
                var run = rs >> 4
                var value = 0
                let size = rs & 15
                if size != 0 {
                    guard size == 1 else { throw fail(.corrupt, "scan data", r.offset, "refinement coefficient of size \(size)") }
                    value = try r.bits(1) == 1 ? p1 : m1
                } else if run != 15 {
                    eobrun = 1 << run
                    if run > 0 { eobrun += try r.bits(run) }
                    break
                }
                while k <= se {
                    let idx = base + JPEGZigzag.natural[k]
                    let coef = Int(coefs[idx])
                    if coef != 0 {
                        let bit = try r.bits(1)
                        if bit == 1 && coef & p1 == 0 {
                            coefs[idx] = Int16(truncatingIfNeeded: coef >= 0 ? coef + p1 : coef + m1)
                        }
                    } else {
                        run -= 1
                        if run < 0 { break }
                    }
                    k += 1
                }
                if value != 0 {
                    guard k <= se else { throw fail(.corrupt, "scan data", r.offset, "refinement runs past the band end") }
                    coefs[base + JPEGZigzag.natural[k]] = Int16(truncatingIfNeeded: value)
                }
                k += 1
            }
        }
        if eobrun > 0 {
            while k <= se {
                let idx = base + JPEGZigzag.natural[k]
                let coef = Int(coefs[idx])
                if coef != 0 {
                    let bit = try r.bits(1)
                    if bit == 1 && coef & p1 == 0 {
                        coefs[idx] = Int16(truncatingIfNeeded: coef >= 0 ? coef + p1 : coef + m1)
                    }
                }
                k += 1
            }
            eobrun -= 1
        }
    }
}
