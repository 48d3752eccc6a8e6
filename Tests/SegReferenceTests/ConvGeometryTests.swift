import SegGraph
@testable import SegReference
import Testing

/// The shared window geometry (SegGraph's `ConvGeometry`) against values worked out by hand
/// from the ONNX operator spec, independent of any kernel: pads per axis, output lengths,
/// and the errors that name the node and attribute.
@Suite struct ConvGeometryTests {
    func node(_ attributes: [String: Attribute], op: String = "Conv", name: String = "c") -> Node {
        Node(name: name, opType: op, inputs: ["x", "w"], outputs: ["y"],
             attributes: attributes.sorted { $0.key < $1.key }.map { NamedAttribute($0.key, $0.value) })
    }

    func axis(_ attributes: [String: Attribute], input: Int, kernel: Int, dilatedSamePad: Bool = true) throws -> SpatialAxis {
        try ConvGeometry(node(attributes)).forwardAxis(0, input: input, kernel: kernel, rank: 1, dilatedSamePad: dilatedSamePad)
    }

    /// (padBegin, padEnd, output) of one axis.
    func summary(_ a: SpatialAxis) -> [Int] { [a.padBegin, a.padEnd, a.output] }

    @Test func sameUpperPutsTheOddPadAtTheEndAndSameLowerAtTheStart() throws {
        // in 5, k 2, s 2: out = ceil(5/2) = 3, total pad = (3-1)*2 + 2 - 5 = 1.
        let upper = try axis(["auto_pad": .string("SAME_UPPER"), "strides": .ints([2])], input: 5, kernel: 2)
        let lower = try axis(["auto_pad": .string("SAME_LOWER"), "strides": .ints([2])], input: 5, kernel: 2)
        #expect(summary(upper) == [0, 1, 3])
        #expect(summary(lower) == [1, 0, 3])
        // in 4, k 4, s 1: total pad 3, split 1+2 (UPPER) or 2+1 (LOWER); out stays 4.
        #expect(summary(try axis(["auto_pad": .string("SAME_UPPER")], input: 4, kernel: 4)) == [1, 2, 4])
        #expect(summary(try axis(["auto_pad": .string("SAME_LOWER")], input: 4, kernel: 4)) == [2, 1, 4])
        // An even total splits evenly either way: in 7, k 3 -> 1 + 1.
        #expect(summary(try axis(["auto_pad": .string("SAME_LOWER")], input: 7, kernel: 3)) == [1, 1, 7])
    }

    @Test func validIgnoresPadsAndExplicitPadsAreKept() throws {
        // VALID: out = floor((5 - 3) / 2) + 1 = 2 with no padding, whatever `pads` says.
        let valid = try axis(["auto_pad": .string("VALID"), "strides": .ints([2]), "pads": .ints([1, 1])], input: 5, kernel: 3)
        #expect(summary(valid) == [0, 0, 2])
        // NOTSET with pads 2/1: out = floor((5 + 3 - 3) / 2) + 1 = 3.
        let explicit = try axis(["strides": .ints([2]), "pads": .ints([2, 1])], input: 5, kernel: 3)
        #expect(summary(explicit) == [2, 1, 3])
    }

    @Test func dilationWidensTheWindowAndConvSameUsesTheDilatedKernel() throws {
        // k 3, d 2: span 5; in 10, pads 1/1: out = 10 + 2 - 5 + 1 = 8.
        let dilated = try axis(["dilations": .ints([2]), "pads": .ints([1, 1])], input: 10, kernel: 3)
        #expect(dilated.span == 5)
        #expect(summary(dilated) == [1, 1, 8])
        // Conv SAME: total = (10 - 1) + 5 - 10 = 4 -> 2 + 2, out 10.
        #expect(summary(try axis(["dilations": .ints([2]), "auto_pad": .string("SAME_UPPER")], input: 10, kernel: 3)) == [2, 2, 10])
        // Pools size SAME with the undilated kernel (ORT): total = 9 + 3 - 10 = 2 -> 1 + 1,
        // and then out = 10 + 2 - 5 + 1 = 8.
        let pool = try axis(["dilations": .ints([2]), "auto_pad": .string("SAME_UPPER")], input: 10, kernel: 3, dilatedSamePad: false)
        #expect(summary(pool) == [1, 1, 8])
    }

    @Test func ceilModeRoundsUpButNeverStartsAWindowInTheEndPadding() throws {
        // in 6, k 3, s 2: floor gives (6-3)/2 + 1 = 2, ceil gives ceil(3/2) + 1 = 3 (the last
        // window starts at 4, inside the input).
        #expect(try axis(["strides": .ints([2])], input: 6, kernel: 3).output == 2)
        #expect(try axis(["strides": .ints([2]), "ceil_mode": .int(1)], input: 6, kernel: 3).output == 3)
        // in 4, k 2, s 2, pads 0/1: ceil would give 3, but the third window starts at 4, which
        // is the end padding only, so it is dropped: 2.
        #expect(try axis(["strides": .ints([2]), "pads": .ints([0, 1]), "ceil_mode": .int(1)], input: 4, kernel: 2).output == 2)
    }

    @Test func twoAxesReadTheirOwnValuesAndASingleIntReadsAsAList() throws {
        let g = try ConvGeometry(node(["strides": .ints([1, 2]), "pads": .ints([0, 1, 2, 3])]))
        let axes = try g.forwardAxes(input: [8, 8], kernel: [3, 3])
        // H: pads 0/2, s 1: 8 + 2 - 3 + 1 = 8. W: pads 1/3, s 2: (8 + 4 - 3) / 2 + 1 = 5.
        #expect(axes.map(summary) == [[0, 2, 8], [1, 3, 5]])
        #expect(try ConvGeometry(node(["strides": .int(3)])).strides == [3])
        // Taps of an axis that land inside the input: in 4, k 3, pad 1, s 1, out 4; tap 0
        // reads o - 1, valid for o in 1..<4; tap 2 reads o + 1, valid for o in 0..<3.
        let a = try axis(["pads": .ints([1, 1])], input: 4, kernel: 3)
        #expect(a.validOutputs(tap: 0) == 1..<4 && a.validOutputs(tap: 2) == 0..<3)
    }

    @Test func convTransposeOutputShapeAndSameFixTheTotalPadding() throws {
        func transpose(_ attributes: [String: Attribute]) throws -> [Int] {
            let g = try ConvTransposeGeometry(node(attributes, op: "ConvTranspose"))
            return summary(try g.axes(input: [3], kernel: [3])[0])
        }
        // in 3, k 3, s 2: natural out = 2·2 + 3 = 7. SAME asks for in·s = 6: total pad 1,
        // at the end for SAME_UPPER, at the start for SAME_LOWER (ONNX ConvTranspose spec).
        #expect(try transpose(["strides": .ints([2]), "auto_pad": .string("SAME_UPPER")]) == [0, 1, 6])
        #expect(try transpose(["strides": .ints([2]), "auto_pad": .string("SAME_LOWER")]) == [1, 0, 6])
        // output_shape with SAME_UPPER: total 7 - 6 = 1 -> 0 + 1; in full [N, C, W] form too.
        #expect(try transpose(["strides": .ints([2]), "auto_pad": .string("SAME_UPPER"), "output_shape": .ints([6])]) == [0, 1, 6])
        #expect(try transpose(["strides": .ints([2]), "output_shape": .ints([1, 1, 5])]) == [1, 1, 5])
        // output_shape without auto_pad: the odd unit goes to the start.
        #expect(try transpose(["strides": .ints([2]), "output_shape": .ints([6])]) == [1, 0, 6])
        // Explicit pads and output_padding: 2·2 + 1 + 3 - 1 - 1 = 6.
        #expect(try transpose(["strides": .ints([2]), "pads": .ints([1, 1]), "output_padding": .ints([1])]) == [1, 1, 6])
        // VALID: no padding, natural size.
        #expect(try transpose(["strides": .ints([2]), "auto_pad": .string("VALID"), "pads": .ints([1, 1])]) == [0, 0, 7])
        // A larger output_shape is accepted while a Conv over it gives the input back
        // ((8 - 3) / 2 + 1 = 3): the extra end position is a negative end pad.
        #expect(try transpose(["strides": .ints([2]), "output_shape": .ints([8])]) == [0, -1, 8])
    }

    @Test func errorsNameTheNodeAndTheAttribute() throws {
        func failure(_ body: () throws -> Void) -> ConvGeometryError? {
            do { try body() } catch { return error as? ConvGeometryError }
            return nil
        }
        let mode = failure { _ = try ConvGeometry(node(["auto_pad": .string("SAME")], name: "stem")) }
        #expect(mode?.subject == .attribute("auto_pad"))
        #expect(mode?.description.contains("'stem' (Conv)") == true && mode?.description.contains("SAME") == true)
        #expect(failure { _ = try ConvGeometry(node(["pads": .ints([1, 1, 1])])) }?.subject == .attribute("pads"))
        #expect(failure { _ = try ConvGeometry(node(["strides": .ints([0])])) }?.subject == .attribute("strides"))
        #expect(failure { _ = try ConvGeometry(node(["dilations": .string("2")])) }?.subject == .attribute("dilations"))
        let g = try ConvGeometry(node(["strides": .ints([1, 1, 1]), "kernel_shape": .ints([3, 3])]))
        #expect(failure { _ = try g.values(rank: 2) }?.subject == .attribute("strides"))
        #expect(failure { _ = try g.kernel(rank: 2, fromWeights: [5, 5]) }?.subject == .attribute("kernel_shape"))
        let small = failure { _ = try ConvGeometry(node([:])).forwardAxis(0, input: 2, kernel: 3, rank: 1) }
        #expect(small?.subject == .input(0))
        let big = failure {
            _ = try ConvTransposeGeometry(node(["strides": .ints([2]), "output_shape": .ints([9])], op: "ConvTranspose")).axes(input: [3], kernel: [3])
        }
        #expect(big?.subject == .attribute("output_shape"))
        // The interpreter reports the same error in its own terms, under the node's label.
        #expect(OpError(try #require(mode) as any Error) == .attribute("auto_pad", "'SAME' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID"))
    }
}
