import Testing
@testable import SegKernels

/// `classArgmax`: argmax over class planes, with the bilinear resize done row by row inside.
/// Expectations come from a plain scalar resize-then-argmax written here from the ONNX
/// half-pixel formula, and from hand-computed values.
struct ClassArgmaxTests {
    /// Full-size scores by the ONNX Resize formula (linear, half_pixel), then the first maximum.
    static func expected(_ s: [Float], classes: Int, ih: Int, iw: Int, oh: Int, ow: Int) -> [UInt8] {
        func taps(_ o: Int, _ inLen: Int, _ outLen: Int) -> (Int, Int, Float) {
            let scale = Float(outLen) / Float(inLen)
            let x = min(max((Float(o) + 0.5) / scale - 0.5, 0), Float(inLen - 1))
            let i0 = Int(x.rounded(.down))
            return (i0, min(i0 + 1, inLen - 1), x - Float(i0))
        }
        var out = [UInt8](repeating: 0, count: oh * ow)
        for y in 0..<oh {
            let (y0, y1, wy) = taps(y, ih, oh)
            for x in 0..<ow {
                let (x0, x1, wx) = taps(x, iw, ow)
                var best: Float = 0, id = 0
                for k in 0..<classes {
                    let p = k * ih * iw
                    let t = s[p + y0 * iw + x0] + (s[p + y0 * iw + x1] - s[p + y0 * iw + x0]) * wx
                    let b = s[p + y1 * iw + x0] + (s[p + y1 * iw + x1] - s[p + y1 * iw + x0]) * wx
                    let v = t + (b - t) * wy
                    if k == 0 || v > best { best = v; id = k }
                }
                out[y * ow + x] = UInt8(id)
            }
        }
        return out
    }

    static func run(_ s: [Float], classes: Int, ih: Int, iw: Int, oh: Int, ow: Int, context: KernelContext = .shared) throws -> [UInt8] {
        var out = [UInt8](repeating: 99, count: oh * ow)
        try s.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try classArgmax(scores: src.baseAddress!, classes: classes, inHeight: ih, inWidth: iw,
                                into: dst.baseAddress!, outHeight: oh, outWidth: ow, context: context)
            }
        }
        return out
    }

    @Test("matches resize-then-argmax", arguments: [(5, 37, 29, 37, 29), (3, 7, 5, 29, 23), (11, 45, 60, 360, 480), (4, 20, 30, 9, 13), (2, 1, 1, 3, 17)])
    func matchesResizeThenArgmax(_ c: Int, _ ih: Int, _ iw: Int, _ oh: Int, _ ow: Int) throws {
        let s = randomValues(c * ih * iw, seed: UInt64(c * 1000 + oh))
        let want = Self.expected(s, classes: c, ih: ih, iw: iw, oh: oh, ow: ow)
        for context in contexts {
            let got = try Self.run(s, classes: c, ih: ih, iw: iw, oh: oh, ow: ow, context: context)
            let mismatches = zip(got, want).filter { $0 != $1 }.count
            #expect(mismatches == 0, "\(describe(context)) \(c)×\(ih)×\(iw)→\(oh)×\(ow)")
        }
    }

    @Test func handComputedUpsampleAndTies() throws {
        // Class 0 along x: 0, 1 → at 1×4 (half-pixel, edges clamped): 0, 0.25, 0.75, 1.
        // Class 1 is 0.6 everywhere, so it wins the first two columns.
        #expect(try Self.run([0, 1, 0.6, 0.6], classes: 2, ih: 1, iw: 2, oh: 1, ow: 4) == [1, 1, 0, 0])
        // Equal planes: the first class wins, in the 8-wide part and the tail.
        let equal = [Float](repeating: 0.5, count: 3 * 11)
        #expect(try Self.run(equal, classes: 3, ih: 1, iw: 11, oh: 1, ow: 11) == [UInt8](repeating: 0, count: 11))
        // NaN never wins; a later class beats a NaN first class only where it is larger (never).
        var nan = [Float](repeating: 0, count: 2 * 9)
        nan[9 + 4] = .nan
        nan[9 + 5] = 1
        #expect(try Self.run(nan, classes: 2, ih: 1, iw: 9, oh: 1, ow: 9) == [0, 0, 0, 0, 0, 1, 0, 0, 0])
    }

    @Test func refusesClassCountsAnEightBitMaskCannotHold() {
        let s = [Float](repeating: 0, count: 300)
        #expect(throws: KernelError.self) { try Self.run(s, classes: 300, ih: 1, iw: 1, oh: 1, ow: 1) }
        #expect(throws: KernelError.self) { try Self.run(s, classes: 0, ih: 1, iw: 1, oh: 1, ow: 1) }
        #expect(throws: KernelError.self) { try Self.run(s, classes: 2, ih: 1, iw: 1, oh: 0, ow: 1) }
    }
}
