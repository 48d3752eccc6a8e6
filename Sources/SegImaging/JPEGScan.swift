#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

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

        let single = scanComps.count == 1
        let c0 = components[scanComps[0]]
        // Non-interleaved scans cover only the blocks that hold image samples.
        let unitsX = single ? (c0.width + 7) / 8 : mcusX
        let unitsY = single ? (c0.height + 7) / 8 : mcusY
        // libjpeg's single-pass case: a first, sequential scan with every component goes
        // straight to samples; anything else fills the coefficient store.
        let direct = !progressive && scansDecoded == 0 && scanComps.count == components.count
        if !direct && coefs.count != coefTotal { coefs = [Int16](repeating: 0, count: coefTotal) }
        let data = bytes
        return try data.withUnsafeBufferPointer { buf throws(ImagingError) -> Int in
            var r = JPEGBitReader(buf, start: dataStart)
            if !progressive {
                try decodeSequentialScan(&r, scanComps, unitsX: unitsX, unitsY: unitsY, direct: direct)
                return r.endOfScan()
            }
            var restartsSeen = 0
            for unit in 0..<(unitsX * unitsY) {
                if restartInterval > 0 && unit > 0 && unit % restartInterval == 0 {
                    guard let (code, _) = r.nextMarker(), code == 0xD0 + UInt8(restartsSeen % 8) else {
                        throw fail(.corrupt, "SOS", r.offset, "expected restart marker RST\(restartsSeen % 8)")
                    }
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
    }

    /// One block's place in a sequential scan: its tables, coefficient offset and DC predictor.
    private struct SequentialUnit {
        /// The tables' memory (`JPEGHuffmanTable.t`; the tables outlive the scan).
        let dc: UnsafePointer<Int32>
        let ac: UnsafePointer<Int32>
        /// Coefficient offset of the block, relative to the MCU's origin block (row-major in the component).
        let offset: Int
        /// Coefficients per MCU step along x and along y for this component.
        let stepX: Int
        let stepY: Int
        /// Index into the scan's predictor array.
        let pred: Int
        // Direct decoding: the block's sample offset and steps, its quantization table
        // (offset into the scan's quant buffer), and its position to skip blocks outside
        // the component's valid samples.
        let sampleOffset: Int
        let sampleStepX: Int
        let sampleStepY: Int
        let stride: Int
        let quant: Int
        let h: Int, bh: Int, v: Int, bv: Int
        let validW: Int, validH: Int
    }

    /// Baseline/extended scans: the hot loop of a typical decode. Tables are read through
    /// pointers and coefficients (or, `direct`, samples) written through one; every block
    /// index is within the component's `blocksW × blocksH` grid (units are MCUs of the
    /// frame or, for one component, blocks holding samples), which the preconditions
    /// below re-check once per scan.
    private mutating func decodeSequentialScan(_ r: inout JPEGBitReader, _ scanComps: [Int], unitsX: Int,
                                               unitsY: Int, direct: Bool) throws(ImagingError) {
        let single = scanComps.count == 1
        let (planes, sampleTotal) = planeLayout()
        var blocks: [SequentialUnit] = []
        var quants: [Int32] = []
        var highest = 0, highestSample = 0
        for (p, ci) in scanComps.enumerated() {
            let c = components[ci]
            guard let dc = dcTables[c.dcTable], let ac = acTables[c.acTable] else { return }
            let q = (c.quant ?? []).map { Int32(truncatingIfNeeded: $0) }
            precondition(q.count == 64)
            quants += q
            let (bh, bv) = single ? (1, 1) : (c.h, c.v)
            let stride = planes[ci].stride
            for v in 0..<bv {
                for h in 0..<bh {
                    let unit = SequentialUnit(dc: UnsafePointer(dc.t), ac: UnsafePointer(ac.t), offset: c.coefOffset + (v * c.blocksW + h) * 64,
                                              stepX: bh * 64, stepY: bv * c.blocksW * 64, pred: p,
                                              sampleOffset: planes[ci].offset + v * 8 * stride + h * 8,
                                              sampleStepX: bh * 8, sampleStepY: bv * 8 * stride, stride: stride,
                                              quant: p * 64, h: h, bh: bh, v: v, bv: bv, validW: c.width, validH: c.height)
                    blocks.append(unit)
                    // The last unit's blocks must lie inside this component's grid.
                    precondition((unitsX - 1) * bh + h < c.blocksW && (unitsY - 1) * bv + v < c.blocksH)
                    highest = max(highest, unit.offset + (unitsX - 1) * unit.stepX + (unitsY - 1) * unit.stepY + 63)
                    highestSample = max(highestSample, unit.sampleOffset + (unitsX - 1) * unit.sampleStepX
                                        + (unitsY - 1) * unit.sampleStepY + 7 * stride + 7)
                }
            }
        }
        var preds = [Int](repeating: 0, count: scanComps.count)
        var samples: [UInt8] = []
        var cf: [Int16] = []
        // Direct decoding stages each MCU row's coefficients and transforms them into samples:
        // on this thread right after the row, or, for larger images, on a helper thread that
        // follows the entropy decoding (the two halves of a decode take about as long each).
        var stage: [Int16] = []
        if direct {
            precondition(highestSample < sampleTotal)
            samples = [UInt8](repeating: 0, count: sampleTotal)
            stage = [Int16](repeating: 0, count: unitsX * unitsY * blocks.count * 64)
        } else {
            precondition(highest < coefs.count)
            swap(&cf, &coefs)
        }
        defer {
            if direct { directSamples = samples } else { swap(&cf, &coefs) }
            for (p, ci) in scanComps.enumerated() { components[ci].dcPred = preds[p] }
        }
        let helped = direct && threads > 1 && unitsY >= 2 && sampleTotal >= parallelMinimumSamples
        let interval = restartInterval
        var restartsSeen = 0
        var sinceRestart = 0
        var ws = [Int32](repeating: 0, count: 64)
        try cf.withUnsafeMutableBufferPointer { cb throws(ImagingError) in
          try samples.withUnsafeMutableBufferPointer { sb throws(ImagingError) in
            try stage.withUnsafeMutableBufferPointer { stb throws(ImagingError) in
              try ws.withUnsafeMutableBufferPointer { wsb throws(ImagingError) in
                try quants.withUnsafeBufferPointer { qb throws(ImagingError) in
                  try JPEGIDCT.rangeLimit.withUnsafeBufferPointer { rb throws(ImagingError) in
                    try blocks.withUnsafeBufferPointer { bb throws(ImagingError) in
                      try JPEGZigzag.natural.withUnsafeBufferPointer { zb throws(ImagingError) in
                        let zz = zb.baseAddress!, nb = blocks.count
                        let rows = StagedRows(units: unitsX, blocks: bb, stage: stb.baseAddress, quants: qb.baseAddress!,
                                              samples: sb.baseAddress, range: rb.baseAddress!)
                        let progress = RowProgress()
                        if helped {
                            // The helper claims rows in order and waits for each to be decoded;
                            // it only reads staged rows and writes their samples, never this
                            // thread's. It touches this memory only once it has moved the state
                            // from idle to running, and the scan waits for a running helper.
                            nonisolated(unsafe) let shared = rows
                            DispatchQueue.global(qos: .userInitiated).async {
                                guard progress.state.compareExchange(expected: RowProgress.idle, desired: RowProgress.running,
                                                                     ordering: .acquiring).exchanged else { return }
                                defer { progress.state.store(RowProgress.finished, ordering: .releasing) }
                                var scratch = [Int32](repeating: 0, count: 64)
                                scratch.withUnsafeMutableBufferPointer { w in
                                    while true {
                                        let row = progress.next.wrappingAdd(1, ordering: .relaxed).oldValue
                                        guard row < unitsY else { return }
                                        while progress.decoded.load(ordering: .acquiring) <= row {
                                            if progress.stopped.load(ordering: .relaxed) { return }
                                            sched_yield()
                                        }
                                        shared.transform(row: row, scratch: w.baseAddress!)
                                    }
                                }
                            }
                        }
                        defer {
                            // On every way out (errors included): a helper that has not started
                            // never will; one that has is told to stop and waited for. Never a
                            // blocking wait on a queue that may have no thread to give it.
                            if helped {
                                progress.stopped.store(true, ordering: .relaxed)
                                if !progress.state.compareExchange(expected: RowProgress.idle, desired: RowProgress.cancelled,
                                                                   ordering: .relaxed).exchanged {
                                    while progress.state.load(ordering: .acquiring) != RowProgress.finished { sched_yield() }
                                }
                            }
                        }
                        for uy in 0..<unitsY {
                            for ux in 0..<unitsX {
                                if interval > 0 {
                                    if sinceRestart == interval {
                                        guard let (code, _) = r.nextMarker(), code == 0xD0 + UInt8(restartsSeen % 8) else {
                                            throw ImagingError(.corrupt, format: "JPEG", context: "SOS", offset: r.offset,
                                                               "expected restart marker RST\(restartsSeen % 8)")
                                        }
                                        restartsSeen += 1
                                        sinceRestart = 0
                                        for p in preds.indices { preds[p] = 0 }
                                    }
                                    sinceRestart += 1
                                }
                                if !direct {
                                    let out = cb.baseAddress!
                                    for b in blocks {
                                        let base = b.offset + ux * b.stepX + uy * b.stepY
                                        preds[b.pred] = try Self.sequentialBlock(&r, b.dc, b.ac, out + base, zz, preds[b.pred])
                                    }
                                    continue
                                }
                                let unit = stb.baseAddress! + (uy * unitsX + ux) * nb * 64
                                for (bi, b) in blocks.enumerated() {
                                    preds[b.pred] = try Self.sequentialBlock(&r, b.dc, b.ac, unit + bi * 64, zz, preds[b.pred])
                                }
                            }
                            guard direct else { continue }
                            if helped {
                                progress.decoded.store(uy + 1, ordering: .releasing)
                            } else {
                                rows.transform(row: uy, scratch: wsb.baseAddress!)
                            }
                        }
                        if helped {
                            // Every row is decoded: take what the helper has not claimed.
                            while true {
                                let row = progress.next.wrappingAdd(1, ordering: .relaxed).oldValue
                                guard row < unitsY else { break }
                                rows.transform(row: row, scratch: wsb.baseAddress!)
                            }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
    }

    /// A direct scan's staged coefficients and where their samples go: one MCU row at a time.
    private struct StagedRows {
        let units: Int
        let blocks: UnsafeBufferPointer<SequentialUnit>
        let stage: UnsafeMutablePointer<Int16>?
        let quants: UnsafePointer<Int32>
        let samples: UnsafeMutablePointer<UInt8>?
        let range: UnsafePointer<UInt8>

        /// The IDCT of every block of MCU row `uy` that holds valid samples.
        func transform(row uy: Int, scratch: UnsafeMutablePointer<Int32>) {
            guard let stage, let samples else { return }
            let nb = blocks.count
            for ux in 0..<units {
                for (bi, b) in blocks.enumerated() where (ux * b.bh + b.h) * 8 < b.validW && (uy * b.bv + b.v) * 8 < b.validH {
                    JPEGIDCT.block(stage + ((uy * units + ux) * nb + bi) * 64, quants + b.quant, scratch,
                                   samples + b.sampleOffset + ux * b.sampleStepX + uy * b.sampleStepY, b.stride, range)
                }
            }
        }
    }

    /// How far a direct scan's entropy decoding and its helper have got.
    private final class RowProgress: Sendable {
        /// MCU rows whose coefficients are staged (published with release ordering).
        let decoded = Atomic<Int>(0)
        /// The next MCU row to transform, claimed by either thread.
        let next = Atomic<Int>(0)
        /// Set when the scan ends (done or failed): a helper waiting for a row gives up.
        let stopped = Atomic<Bool>(false)
        /// The helper's life: idle → running → finished, or idle → cancelled by the scan.
        let state = Atomic<Int>(idle)
        static let idle = 0, running = 1, finished = 2, cancelled = 3
    }

    /// One sequential block (T.81 F.2.2): the DC difference, then run/size AC symbols.
    /// `out` points at the block's 64 coefficients; returns the new DC predictor.
    /// The bit buffer lives in locals here and goes back to `r` around calls that use it.
    @inline(__always)
    private static func sequentialBlock(_ r: inout JPEGBitReader, _ dct: UnsafePointer<Int32>, _ act: UnsafePointer<Int32>,
                                        _ out: UnsafeMutablePointer<Int16>, _ zz: UnsafePointer<Int>,
                                        _ pred: Int) throws(ImagingError) -> Int {
        var buf = r.buffer, cnt = r.count, pad = r.padding
        /// At least 32 bits in `buf` (with zero padding past the data).
        @inline(__always) func ensure() {
            if cnt < 32 {
                r.buffer = buf
                r.count = cnt
                r.refill()
                buf = r.buffer
                cnt = r.count
                pad = r.padding
            }
        }
        // cnt ≥ n after ensure() for every n used (≤ 16), so the masked shifts are exact.
        @inline(__always) func peek(_ n: Int) -> Int {
            Int(truncatingIfNeeded: (buf &>> UInt64(truncatingIfNeeded: cnt &- n)) & ((1 &<< UInt64(truncatingIfNeeded: n)) &- 1))
        }
        @inline(__always) func long(_ t: UnsafePointer<Int32>) throws(ImagingError) -> Int {
            r.buffer = buf
            r.count = cnt
            let v = try JPEGHuffmanTable.decodeLong(t, &r, peek(16))
            cnt = r.count
            return v
        }
        func truncated() -> ImagingError {
            ImagingError(.truncated, format: "JPEG", context: "scan data", offset: r.offset,
                         "entropy-coded data ends early (truncated or corrupt)")
        }
        func corrupt(_ message: String) -> ImagingError {
            ImagingError(.corrupt, format: "JPEG", context: "scan data", offset: r.offset, message)
        }
        ensure()
        var t: Int
        let de = Int(dct[JPEGHuffmanTable.lookupAt &+ peek(JPEGHuffmanTable.lookBits)])
        if de != 0 {
            cnt &-= de >> 8
            if cnt < pad { throw truncated() }
            t = de & 0xFF
        } else {
            t = try long(dct)
        }
        guard t <= 11 else { throw corrupt("DC magnitude category \(t) > 11") }
        var diff = 0
        if t > 0 {
            ensure()
            diff = JPEGBitReader.extend(peek(t), t)
            cnt &-= t
            if cnt < pad { throw truncated() }
        }
        let dcValue = pred &+ diff
        out[0] = Int16(truncatingIfNeeded: dcValue)
        var k = 1
        while k < 64 {
            ensure()
            let look = peek(JPEGHuffmanTable.lookBits)
            let fast = Int(act[JPEGHuffmanTable.fastACAt &+ look])
            if fast != 0 {
                // Code and extra bits within the lookahead: run, length and value in one entry.
                // (Past the band end or into the padding, the general path below reports it.)
                let nk = k &+ (fast >> 8) & 0xFF
                let left = cnt &- (fast & 0xFF)
                if nk < 64 && left >= pad {
                    cnt = left
                    out[zz[nk]] = Int16(truncatingIfNeeded: fast >> 16)
                    k = nk &+ 1
                    continue
                }
            }
            var rs: Int
            let e = Int(act[JPEGHuffmanTable.lookupAt &+ look])
            if e != 0 {
                cnt &-= e >> 8
                if cnt < pad { throw truncated() }
                rs = e & 0xFF
            } else {
                rs = try long(act)
            }
            let run = rs >> 4, size = rs & 15
            if size == 0 {
                if run != 15 { break }
                k &+= 16
                continue
            }
            k &+= run
            guard k < 64 else { throw corrupt("AC coefficient index beyond 63") }
            ensure()
            let v = JPEGBitReader.extend(peek(size), size)
            cnt &-= size
            if cnt < pad { throw truncated() }
            out[zz[k]] = Int16(truncatingIfNeeded: v)
            k &+= 1
        }
        r.buffer = buf
        r.count = cnt
        return dcValue
    }

    @inline(__always)
    private mutating func decodeBlock(_ r: inout JPEGBitReader, comp ci: Int, bx: Int, by: Int,
                                      ss: Int, se: Int, ah: Int, al: Int) throws(ImagingError) {
        let c = components[ci]
        let base = c.coefOffset + (by * c.blocksW + bx) * 64
        if ss == 0 {
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
