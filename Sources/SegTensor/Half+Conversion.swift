// binary16 <-> binary32 by bit manipulation.
//
// binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
// binary32: 1 sign bit, 8 exponent bits (bias 127), 23 mantissa bits.

extension Half {
    /// Rounds `value` to binary16, round-half-to-even. NaNs stay NaN (quiet, payload's high bits
    /// kept); values beyond the largest finite half (65504, after rounding) become ±infinity.
    static func bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        var mantissa = bits & 0x7F_FFFF

        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Subnormal half (or zero): value = M * 2^(exponent - 150) with M the 24-bit
            // significand; a half subnormal is m * 2^-24, so m = M >> (126 - exponent).
            if halfExponent < -10 { return sign }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - halfExponent)
            return sign | UInt16(truncatingIfNeeded: roundShifted(mantissa, by: shift))
        }
        // Normal: drop 13 mantissa bits. A carry out of the mantissa correctly bumps the
        // exponent, and out of the largest exponent gives exactly 0x7C00 (infinity).
        let combined = UInt32(halfExponent) << 23 | mantissa
        return sign | UInt16(truncatingIfNeeded: roundShifted(combined, by: 13))
    }

    /// `value >> shift`, rounded to nearest with ties to even. `shift` is in 1...24.
    private static func roundShifted(_ value: UInt32, by shift: UInt32) -> UInt32 {
        let kept = value >> shift
        let remainder = value & ((1 << shift) - 1)
        let halfway: UInt32 = 1 << (shift - 1)
        if remainder > halfway || (remainder == halfway && kept & 1 == 1) { return kept + 1 }
        return kept
    }

    /// Exact widening; NaN payloads are kept.
    static func float(from half: UInt16) -> Float {
        let sign = UInt32(half & 0x8000) << 16
        let exponent = UInt32((half >> 10) & 0x1F)
        let mantissa = UInt32(half & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: m * 2^-24 is exact in binary32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }
}
