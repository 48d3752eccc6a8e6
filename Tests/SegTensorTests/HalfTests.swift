import Testing
@testable import SegTensor

@Suite("binary16 conversions")
struct HalfTests {
    @Test("f32 → f16 matches numpy's astype(float16) on ties, subnormals, overflow and random values")
    func narrowingMatchesNumpy() throws {
        let source = try Tensor(npyBytes: NPYFixtures.f16_round_source.bytes).scalars(as: Float.self)
        let expected = try Tensor(npyBytes: NPYFixtures.f16_round_expected.bytes).scalars(as: Half.self)
        #expect(source.count == expected.count)
        for (value, want) in zip(source, expected) {
            #expect(Half(value).bitPattern == want.bitPattern, "\(value)")
        }
    }

    @Test func handWorkedValues() {
        #expect(Half(1.0).bitPattern == 0x3C00)
        #expect(Half(-2.0).bitPattern == 0xC000)
        #expect(Half(65504).bitPattern == 0x7BFF)
        #expect(Half(65520).bitPattern == 0x7C00)          // halfway to 2^16 rounds to even → inf
        #expect(Half(0x1p-24).bitPattern == 0x0001)        // smallest subnormal
        #expect(Half(0x1p-25).bitPattern == 0x0000)        // tie with 0 → even (0)
        #expect(Half(0x1.8p-24).bitPattern == 0x0002)      // 1.5 ulp → tie → even (2)
        #expect(Half(1 + 0x1p-11).bitPattern == 0x3C00)    // tie → even
        #expect(Half(1 + 0x1.8p-10).bitPattern == 0x3C02)  // 1.5 ulp → tie → even (2)
        #expect(Half(Float.nan).floatValue.isNaN)
        #expect(Half(-0.0).bitPattern == 0x8000)
        #expect(Float(Half(bitPattern: 0x0001)) == 0x1p-24)
        #expect(Float(Half(bitPattern: 0xFC00)) == -.infinity)
    }

    #if !(os(macOS) && arch(x86_64))
    @Test("f16 → f32 agrees with Swift's Float16 for all 65536 bit patterns")
    func wideningExhaustive() {
        for bits in UInt16.min...UInt16.max {
            let mine = Float(Half(bitPattern: bits))
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                #expect(mine.isNaN)
            } else if mine.bitPattern != reference.bitPattern {
                Issue.record("0x\(String(bits, radix: 16)): \(mine) != \(reference)")
            }
        }
    }

    @Test("f32 → f16 agrees with Swift's Float16 on a sweep of bit patterns")
    func narrowingSweep() {
        var bits: UInt32 = 0
        while true {
            let value = Float(bitPattern: bits)
            if !value.isNaN, Half(value).bitPattern != Float16(value).bitPattern {
                Issue.record("\(value) (0x\(String(bits, radix: 16)))")
            }
            let (next, overflow) = bits.addingReportingOverflow(0x3F1)  // odd stride hits every low-bit pattern class
            if overflow { break }
            bits = next
        }
    }
    #endif
}
