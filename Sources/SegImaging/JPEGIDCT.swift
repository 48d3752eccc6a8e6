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

    /// One 8x8 block: `coefs[base...]` (natural order) × `quant` → `out[outBase + y*stride + x]`.
    @inline(__always)
    static func block(_ coefs: UnsafeBufferPointer<Int16>, _ base: Int, _ quant: UnsafeBufferPointer<Int32>,
                      _ ws: UnsafeMutableBufferPointer<Int32>, _ out: UnsafeMutableBufferPointer<UInt8>,
                      _ outBase: Int, _ stride: Int, _ range: UnsafeBufferPointer<UInt8>) {
        // Pass 1: columns.
        for col in 0..<8 {
            @inline(__always) func q(_ row: Int) -> Int { Int(coefs[base + row * 8 + col]) * Int(quant[row * 8 + col]) }
            if coefs[base + 8 + col] == 0 && coefs[base + 16 + col] == 0 && coefs[base + 24 + col] == 0
                && coefs[base + 32 + col] == 0 && coefs[base + 40 + col] == 0 && coefs[base + 48 + col] == 0
                && coefs[base + 56 + col] == 0 {
                // AC-free column: every output is DC << PASS1_BITS (what the full formula yields exactly).
                let dc = Int32(truncatingIfNeeded: q(0) << pass1Bits)
                for row in 0..<8 { ws[row * 8 + col] = dc }
                continue
            }
            var z2 = q(2), z3 = q(6)
            let z1 = (z2 + z3) * fix0_541196100
            var tmp2 = z1 + z3 * -fix1_847759065
            var tmp3 = z1 + z2 * fix0_765366865
            z2 = q(0)
            z3 = q(4)
            var tmp0 = (z2 + z3) << constBits
            var tmp1 = (z2 - z3) << constBits
            let tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2
            tmp0 = q(7)
            tmp1 = q(5)
            tmp2 = q(3)
            tmp3 = q(1)
            (tmp0, tmp1, tmp2, tmp3) = odd(tmp0, tmp1, tmp2, tmp3)
            let shift = constBits - pass1Bits
            ws[col] = descale32(tmp10 + tmp3, shift)
            ws[56 + col] = descale32(tmp10 - tmp3, shift)
            ws[8 + col] = descale32(tmp11 + tmp2, shift)
            ws[48 + col] = descale32(tmp11 - tmp2, shift)
            ws[16 + col] = descale32(tmp12 + tmp1, shift)
            ws[40 + col] = descale32(tmp12 - tmp1, shift)
            ws[24 + col] = descale32(tmp13 + tmp0, shift)
            ws[32 + col] = descale32(tmp13 - tmp0, shift)
        }
        // Pass 2: rows; the final descale also removes the PASS1_BITS and the 8x scale of the 2-D transform.
        let shift = constBits + pass1Bits + 3
        for row in 0..<8 {
            let w = row * 8
            let o = outBase + row * stride
            if ws[w + 1] == 0 && ws[w + 2] == 0 && ws[w + 3] == 0 && ws[w + 4] == 0
                && ws[w + 5] == 0 && ws[w + 6] == 0 && ws[w + 7] == 0 {
                let v = range[descale(Int(ws[w]), pass1Bits + 3) & 1023]
                for x in 0..<8 { out[o + x] = v }
                continue
            }
            var z2 = Int(ws[w + 2]), z3 = Int(ws[w + 6])
            let z1 = (z2 + z3) * fix0_541196100
            var tmp2 = z1 + z3 * -fix1_847759065
            var tmp3 = z1 + z2 * fix0_765366865
            z2 = Int(ws[w])
            z3 = Int(ws[w + 4])
            var tmp0 = (z2 + z3) << constBits
            var tmp1 = (z2 - z3) << constBits
            let tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2
            (tmp0, tmp1, tmp2, tmp3) = odd(Int(ws[w + 7]), Int(ws[w + 5]), Int(ws[w + 3]), Int(ws[w + 1]))
            out[o] = range[descale(tmp10 + tmp3, shift) & 1023]
            out[o + 7] = range[descale(tmp10 - tmp3, shift) & 1023]
            out[o + 1] = range[descale(tmp11 + tmp2, shift) & 1023]
            out[o + 6] = range[descale(tmp11 - tmp2, shift) & 1023]
            out[o + 2] = range[descale(tmp12 + tmp1, shift) & 1023]
            out[o + 5] = range[descale(tmp12 - tmp1, shift) & 1023]
            out[o + 3] = range[descale(tmp13 + tmp0, shift) & 1023]
            out[o + 4] = range[descale(tmp13 - tmp0, shift) & 1023]
        }
    }

    /// The odd part shared by both passes; inputs are the coefficients at 7, 5, 3, 1.
    @inline(__always)
    static func odd(_ t0: Int, _ t1: Int, _ t2: Int, _ t3: Int) -> (Int, Int, Int, Int) {
        var z1 = t0 + t3, z2 = t1 + t2, z3 = t0 + t2, z4 = t1 + t3
        let z5 = (z3 + z4) * fix1_175875602
        var tmp0 = t0 * fix0_298631336, tmp1 = t1 * fix2_053119869
        var tmp2 = t2 * fix3_072711026, tmp3 = t3 * fix1_501321110
        z1 *= -fix0_899976223
        z2 *= -fix2_562915447
        z3 *= -fix1_961570560
        z4 *= -fix0_390180644
        z3 += z5
        z4 += z5
        tmp0 += z1 + z3
        tmp1 += z2 + z4
        tmp2 += z2 + z3
        tmp3 += z1 + z4
        return (tmp0, tmp1, tmp2, tmp3)
    }

    @inline(__always)
    static func descale(_ x: Int, _ n: Int) -> Int { (x + (1 << (n - 1))) >> n }

    @inline(__always)
    static func descale32(_ x: Int, _ n: Int) -> Int32 { Int32(truncatingIfNeeded: descale(x, n)) }
}
