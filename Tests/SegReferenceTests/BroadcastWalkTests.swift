import Foundation
import SegGraph
import SegReference
import SegTensor
import Testing

/// The index-map-free broadcasting (`BroadcastWalk`) that Add/Sub/Mul/Div, the comparisons, And/Or/Xor
/// and Where use for f32/f64/i32/i64/bool, against a broadcast written out per output element
/// here: multi-index → each operand's flat index, from the ONNX broadcasting rule.
@Suite struct BroadcastWalkTests {
    typealias H = ElementwiseHarness

    /// Flat index into `shape` for output multi-index `index` (right-aligned, size-1 axes repeat).
    static func source(_ index: [Int], _ shape: [Int]) -> Int {
        var flat = 0
        let offset = index.count - shape.count
        for (axis, size) in shape.enumerated() { flat = flat * size + (size == 1 ? 0 : index[offset + axis]) }
        return flat
    }

    static func multiIndex(_ flat: Int, _ dims: [Int]) -> [Int] {
        var rest = flat, index = [Int](repeating: 0, count: dims.count)
        for axis in dims.indices.reversed() { index[axis] = rest % dims[axis]; rest /= dims[axis] }
        return index
    }

    /// Output dims and operand shapes that exercise merging: leading size-1 axes, runs of axes an
    /// operand has or lacks, rank differences, scalars, and a zero-size axis.
    static let cases: [(out: [Int], a: [Int], b: [Int])] = [
        ([1, 1680, 8, 3, 4, 2], [1, 1680, 8, 3, 4, 2], [1, 1680, 8, 1, 1, 2]),
        ([1, 1680, 8, 3, 4, 2], [1, 1, 8, 3, 4, 2], [1, 1680, 1, 1, 1, 1]),
        ([2, 3, 4], [3, 1], [2, 1, 4]),
        ([2, 3, 4], [], [2, 3, 4]),
        ([5, 1, 7], [5, 1, 1], [7]),
        ([4, 6], [4, 6], [4, 6]),
        ([3, 0, 2], [3, 1, 2], [0, 1]),
    ]

    @Test(arguments: cases.indices) func arithmeticAndComparisonsMatchAPerElementBroadcast(_ c: Int) throws {
        let (out, da, db) = Self.cases[c]
        var rng = SystemRandomNumberGenerator()
        let na = da.reduce(1, *), nb = db.reduce(1, *)
        let xa = (0..<na).map { _ in Double(Int.random(in: -50...50, using: &rng)) / 4 }
        let xb = (0..<nb).map { _ in Double(Int.random(in: -50...50, using: &rng)) / 4 + 0.125 }
        let count = out.reduce(1, *)
        let pairs = (0..<count).map { i -> (Double, Double) in
            let index = Self.multiIndex(i, out)
            return (xa[Self.source(index, da)], xb[Self.source(index, db)])
        }
        let a64 = try Tensor(dims: da, scalars: xa), b64 = try Tensor(dims: db, scalars: xb)
        let a32 = try Tensor(dims: da, scalars: xa.map { Float($0) }), b32 = try Tensor(dims: db, scalars: xb.map { Float($0) })
        let ai = try Tensor(dims: da, scalars: xa.map { Int64($0 * 4) }), bi = try Tensor(dims: db, scalars: xb.map { Int64(($0 - 0.125) * 4) | 1 })
        for (op, f) in [("Add", { (p: Double, q: Double) in p + q }), ("Sub", { $0 - $1 }), ("Mul", { $0 * $1 }), ("Div", { $0 / $1 })] {
            let r64 = try H.run(op, opset: 14, [a64, b64])
            #expect(r64.dims == out)
            #expect(try r64.scalars(as: Double.self) == pairs.map { f($0.0, $0.1) }, "\(op) f64 \(out)")
            #expect(try H.run(op, opset: 14, [a32, b32]).scalars(as: Float.self) == pairs.map { Float(f(Double(Float($0.0)), Double(Float($0.1)))) },
                    "\(op) f32 \(out)")
        }
        // Integers wrap and divide toward zero; b is odd, never 0.
        let ints = pairs.map { (Int64($0.0 * 4), Int64(($0.1 - 0.125) * 4) | 1) }
        #expect(try H.run("Sub", opset: 14, [ai, bi]).scalars(as: Int64.self) == ints.map { $0.0 &- $0.1 })
        #expect(try H.run("Div", opset: 14, [ai, bi]).scalars(as: Int64.self) == ints.map { $0.0 / $0.1 })
        let less = try H.run("Less", opset: 13, [a64, b64])
        #expect(less.dtype == .bool && less.dims == out)
        #expect(try less.scalars(as: Bool.self) == pairs.map { $0.0 < $0.1 })
        #expect(try H.run("GreaterOrEqual", opset: 16, [ai, bi]).scalars(as: Bool.self) == ints.map { $0.0 >= $0.1 })
        // Where and And on masks derived from the same operands.
        let ma = try Tensor(dims: da, scalars: xa.map { $0 > 0 }), mb = try Tensor(dims: db, scalars: xb.map { $0 > 0 })
        #expect(try H.run("And", opset: 7, [ma, mb]).scalars(as: Bool.self) == pairs.map { $0.0 > 0 && $0.1 > 0 })
        #expect(try H.run("Xor", opset: 7, [ma, mb]).scalars(as: Bool.self) == pairs.map { ($0.0 > 0) != ($0.1 > 0) })
        let selected = try H.run("Where", opset: 16, [ma, a64, b64])
        #expect(try selected.scalars(as: Double.self) == pairs.map { $0.0 > 0 ? $0.0 : $0.1 })
        let selected32 = try H.run("Where", opset: 16, [mb, a32, b32])
        #expect(try selected32.scalars(as: Float.self) == pairs.map { Float($0.1 > 0 ? $0.0 : $0.1) })
    }

    @Test func integerDivisionByZeroIsStillRefused() throws {
        let a = try Tensor(dims: [2, 2], scalars: [1, 2, 3, 4] as [Int64]), b = try Tensor(dims: [2], scalars: [1, 0] as [Int64])
        #expect(throws: ExecutionError.self) { _ = try H.run("Div", opset: 14, [a, b]) }
        #expect(throws: ExecutionError.self) { _ = try H.run("Mod", opset: 13, [a, b]) }
        // A zero divisor in an empty broadcast is never read.
        let empty = try Tensor(dims: [0, 2], scalars: [] as [Int64])
        #expect(try H.run("Div", opset: 14, [empty, b]).dims == [0, 2])
    }
}
