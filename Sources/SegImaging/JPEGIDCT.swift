/// The integer "islow" inverse DCT of libjpeg (jidctint.c, the Loeffler–
/// Ligtenberg–Moschytz algorithm with 13-bit fixed-point constants), written
/// from its arithmetic so that results match libjpeg-turbo bit for bit:
/// dequantize, columns first with PASS1_BITS = 2 of extra precision, then rows,
/// then libjpeg's post-IDCT range limiting (which wraps at ±512 rather than clamping).
enum JPEGIDCT {
    static let constBits = 13
    static let pass1Bits = 2
    static let fix0_298631336 = 2446, fix0_390180644 = 3196, fix0_541196100 = 4433
    static let fix0_765366865 = 6270, fix0_899976223 = 7373, fix1_175875602 = 9633
    static let fix1_501321110 = 12299, fix1_847759065 = 15137, fix1_961570560 = 16069
    static let fix2_053119869 = 16819, fix2_562915447 = 20995, fix3_072711026 = 25172

    /// libjpeg's IDCT range-limit table indexed by (descaled value & 1023):
    /// −128...127 map to 0...255, up to +511 saturate at 255, down to −512 at 0.
    static let rangeLimit: [UInt8] = (0..<1024).map { i -> UInt8 in
        switch i {
        case 0..<128: UInt8(i + 128)
        case 128..<512: 255
        case 512..<896: 0
        default: UInt8(i - 896)
        }
    }

    /// One 8x8 block: `coefs[0..<64]` (natural order) × `quant[0..<64]` → `out[y * stride + x]`
    /// for x, y in 0..<8; `ws` is 64 entries of scratch, `range` is `rangeLimit`.
    /// The caller guarantees those extents (this reads and writes through raw pointers).
    @inline(__always)
    static func block(_ coefs: UnsafePointer<Int16>, _ quant: UnsafePointer<Int32>,
                      _ ws: UnsafeMutablePointer<Int32>, _ out: UnsafeMutablePointer<UInt8>,
                      _ stride: Int, _ range: UnsafePointer<UInt8>) {
        // Which rows and columns of coefficients are non-zero; a coefficient row is two words.
        let raw = UnsafeRawPointer(coefs)
        var rowsHi: UInt64 = 0, rowsMid: UInt64 = 0, row1: UInt64 = 0, colsHi: UInt64 = 0, colsMid: UInt64 = 0
        for r in 0..<8 {
            let left = raw.loadUnaligned(fromByteOffset: 16 &* r, as: UInt64.self)
            let rgt = raw.loadUnaligned(fromByteOffset: 16 &* r &+ 8, as: UInt64.self)
            colsHi |= rgt
            colsMid |= left &>> 32
            if r >= 4 { rowsHi |= left | rgt } else if r >= 2 { rowsMid |= left | rgt } else if r == 1 { row1 = left | rgt }
        }
        // DC-only blocks: the full formula gives one value everywhere.
        let ac = rowsHi | rowsMid | row1 | colsHi | colsMid | (raw.loadUnaligned(as: UInt64.self) & ~0xFFFF)
        if ac == 0 {
            let dc = Int(Int32(truncatingIfNeeded: (Int(coefs[0]) &* Int(quant[0])) &<< pass1Bits))
            let v = range[descale(dc, pass1Bits &+ 3) & 1023]
            let word = UInt64(v) &* 0x0101_0101_0101_0101
            for row in 0..<8 { UnsafeMutableRawPointer(out + row &* stride).storeBytes(of: word, as: UInt64.self) }
            return
        }
        // Blocks whose coefficients sit in the top-left 2x2 or 4x4 corner or the left or top half
        // run the same formulas with literal zeros for the rest, which the compiler folds away:
        // exact by construction.
        let rows = rowsHi != 0 ? 8 : rowsMid != 0 ? 4 : 2
        let cols = colsHi != 0 ? 8 : colsMid != 0 ? 4 : 2
        // Pass 1: columns (those beyond `cols` are all zero and pass 2 does not read them).
        switch rows {
        case 2: for col in 0..<cols { column(coefs, quant, ws, col, Two.self) }
        case 4: for col in 0..<cols { column(coefs, quant, ws, col, Four.self) }
        default: for col in 0..<cols { column(coefs, quant, ws, col, Eight.self) }
        }
        // Pass 2: rows.
        switch cols {
        case 2: for row in 0..<8 { self.row(ws, out, row, stride, range, Two.self) }
        case 4: for row in 0..<8 { self.row(ws, out, row, stride, range, Four.self) }
        default: for row in 0..<8 { self.row(ws, out, row, stride, range, Eight.self) }
        }
    }

    /// Pass 1 on one column; coefficient rows `N.n`...7 (N.n = 2, 4 or 8) are known to be zero.
    @inline(__always)
    static func column<N: IDCTExtent>(_ coefs: UnsafePointer<Int16>, _ quant: UnsafePointer<Int32>,
                                      _ ws: UnsafeMutablePointer<Int32>, _ col: Int, _: N.Type) {
        let rows = N.n
        @inline(__always) func q(_ row: Int) -> Int { row < rows ? Int(coefs[row &* 8 &+ col]) &* Int(quant[row &* 8 &+ col]) : 0 }
        @inline(__always) func zero(_ row: Int) -> Bool { row >= rows || coefs[row &* 8 &+ col] == 0 }
        if zero(1) && zero(2) && zero(3) && zero(4) && zero(5) && zero(6) && zero(7) {
            // AC-free column: every output is DC << PASS1_BITS (what the full formula yields exactly).
            let dc = Int32(truncatingIfNeeded: q(0) &<< pass1Bits)
            for row in 0..<8 { ws[row &* 8 &+ col] = dc }
            return
        }
        let e = transform(q(0), q(1), q(2), q(3), q(4), q(5), q(6), q(7))
        let shift = constBits &- pass1Bits
        ws[col] = descale32(e.0, shift)
        ws[8 &+ col] = descale32(e.1, shift)
        ws[16 &+ col] = descale32(e.2, shift)
        ws[24 &+ col] = descale32(e.3, shift)
        ws[32 &+ col] = descale32(e.4, shift)
        ws[40 &+ col] = descale32(e.5, shift)
        ws[48 &+ col] = descale32(e.6, shift)
        ws[56 &+ col] = descale32(e.7, shift)
    }

    /// Pass 2 on one row, with the range limit; workspace columns `N.n`...7 are known to be zero
    /// (and are not read). The final descale also removes the PASS1_BITS and the 8x scale of the
    /// 2-D transform.
    @inline(__always)
    static func row<N: IDCTExtent>(_ ws: UnsafeMutablePointer<Int32>, _ out: UnsafeMutablePointer<UInt8>, _ row: Int,
                                   _ stride: Int, _ range: UnsafePointer<UInt8>, _: N.Type) {
        let cols = N.n
        let w = ws + row &* 8
        let o = out + row &* stride
        @inline(__always) func d(_ c: Int) -> Int { c < cols ? Int(w[c]) : 0 }
        if d(1) == 0 && d(2) == 0 && d(3) == 0 && d(4) == 0 && d(5) == 0 && d(6) == 0 && d(7) == 0 {
            let v = range[descale(Int(w[0]), pass1Bits &+ 3) & 1023]
            UnsafeMutableRawPointer(o).storeBytes(of: UInt64(v) &* 0x0101_0101_0101_0101, as: UInt64.self)
            return
        }
        let e = transform(d(0), d(1), d(2), d(3), d(4), d(5), d(6), d(7))
        let shift = constBits &+ pass1Bits &+ 3
        @inline(__always) func s(_ v: Int, _ byte: UInt64) -> UInt64 {
            UInt64(range[descale(v, shift) & 1023]) &<< (8 &* byte)
        }
        // One 8-byte store per row (little-endian: o[0] is the low byte).
        let word = s(e.0, 0) | s(e.1, 1) | s(e.2, 2) | s(e.3, 3) | s(e.4, 4) | s(e.5, 5) | s(e.6, 6) | s(e.7, 7)
        UnsafeMutableRawPointer(o).storeBytes(of: UInt64(littleEndian: word), as: UInt64.self)
    }

    /// The 1-D islow transform of d0...d7 (jidctint.c), outputs 0...7 before descaling.
    @inline(__always)
    static func transform(_ d0: Int, _ d1: Int, _ d2: Int, _ d3: Int, _ d4: Int, _ d5: Int, _ d6: Int, _ d7: Int)
        -> (Int, Int, Int, Int, Int, Int, Int, Int) {
        // Even part.
        let z1 = (d2 &+ d6) &* fix0_541196100
        let tmp2 = z1 &+ d6 &* -fix1_847759065
        let tmp3 = z1 &+ d2 &* fix0_765366865
        let tmp0 = (d0 &+ d4) &<< constBits
        let tmp1 = (d0 &- d4) &<< constBits
        let tmp10 = tmp0 &+ tmp3, tmp13 = tmp0 &- tmp3, tmp11 = tmp1 &+ tmp2, tmp12 = tmp1 &- tmp2
        // Odd part.
        let (o0, o1, o2, o3) = odd(d7, d5, d3, d1)
        return (tmp10 &+ o3, tmp11 &+ o2, tmp12 &+ o1, tmp13 &+ o0,
                tmp13 &- o0, tmp12 &- o1, tmp11 &- o2, tmp10 &- o3)
    }

    /// The odd part shared by both passes; inputs are the coefficients at 7, 5, 3, 1.
    @inline(__always)
    static func odd(_ t0: Int, _ t1: Int, _ t2: Int, _ t3: Int) -> (Int, Int, Int, Int) {
        var z1 = t0 &+ t3, z2 = t1 &+ t2, z3 = t0 &+ t2, z4 = t1 &+ t3
        let z5 = (z3 &+ z4) &* fix1_175875602
        var tmp0 = t0 &* fix0_298631336, tmp1 = t1 &* fix2_053119869
        var tmp2 = t2 &* fix3_072711026, tmp3 = t3 &* fix1_501321110
        z1 &*= -fix0_899976223
        z2 &*= -fix2_562915447
        z3 &*= -fix1_961570560
        z4 &*= -fix0_390180644
        z3 &+= z5
        z4 &+= z5
        tmp0 &+= z1 &+ z3
        tmp1 &+= z2 &+ z4
        tmp2 &+= z2 &+ z3
        tmp3 &+= z1 &+ z4
        return (tmp0, tmp1, tmp2, tmp3)
    }

    @inline(__always)
    static func descale(_ x: Int, _ n: Int) -> Int { (x &+ (1 &<< (n &- 1))) &>> n }

    @inline(__always)
    static func descale32(_ x: Int, _ n: Int) -> Int32 { Int32(truncatingIfNeeded: descale(x, n)) }
}

/// A compile-time count (2, 4 or 8) of the coefficient rows or columns an IDCT pass uses,
/// so that each specialization folds the known zeros away.
protocol IDCTExtent { static var n: Int { get } }
enum Two: IDCTExtent { static var n: Int { 2 } }
enum Four: IDCTExtent { static var n: Int { 4 } }
enum Eight: IDCTExtent { static var n: Int { 8 } }
