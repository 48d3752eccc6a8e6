/// ConvTranspose's geometry: the forward window attributes plus `output_padding` and
/// `output_shape`, which together with auto_pad decide the output size and how the total
/// padding splits (ONNX ConvTranspose, as ONNX Runtime computes it).
package struct ConvTransposeGeometry: Sendable, Equatable {
    package var window: ConvGeometry
    package var outputPadding: [Int]?
    /// Spatial sizes only: a full [N, C, spatial...] attribute is cut to its spatial part when
    /// the rank is known.
    package var outputShape: [Int]?

    package static let attributeNames = ConvGeometry.attributeNames.union(["output_padding", "output_shape"])

    package init(_ node: Node) throws(ConvGeometryError) {
        window = try ConvGeometry(node)
        let reader = AttributeReader(node: node)
        outputPadding = try reader.ints("output_padding", minimum: 0)
        outputShape = try reader.ints("output_shape", minimum: 0)
    }

    /// Per spatial axis: `out = stride·(in − 1) + output_padding + span − pads`. An explicit
    /// output_shape (or SAME_*, which asks for `in · stride`) fixes the total padding, split
    /// with the odd unit at the start except for SAME_UPPER; a negative total is clamped to
    /// zero under SAME_* and refused with an explicit output_shape unless a Conv over that
    /// shape gives this input back (then the extra end positions get only bias, as in ORT).
    package func axes(input: [Int], kernel: [Int]) throws(ConvGeometryError) -> [SpatialAxis] {
        let rank = input.count
        let v = try window.values(rank: rank)
        let adjust = outputPadding ?? [Int](repeating: 0, count: rank)
        guard adjust.count == rank else { throw window.error(.attribute("output_padding"), "expected \(rank) values, got \(adjust.count)") }
        var shape = outputShape
        if let s = shape, s.count == rank + 2 { shape = Array(s.dropFirst(2)) }
        if let s = shape, s.count != rank { throw window.error(.attribute("output_shape"), "expected \(rank) values, got \(s.count)") }
        let autoPad = window.autoPad
        var axes: [SpatialAxis] = []
        for i in 0..<rank {
            var axis = SpatialAxis(input: input[i], output: 0, kernel: kernel[i], stride: v.strides[i], dilation: v.dilations[i],
                                   padBegin: v.pads[i], padEnd: v.pads[rank + i])
            let natural = (input[i] - 1) * axis.stride + adjust[i] + axis.span
            if let target = shape?[i] ?? (autoPad.isSame ? input[i] * axis.stride : nil) {
                var total = natural - target
                if total < 0 && shape != nil {
                    guard target >= axis.span, (target - axis.span) / axis.stride + 1 == input[i] else {
                        throw window.error(.attribute("output_shape"), "\(target) is larger than the \(natural) this input and kernel produce")
                    }
                    axis.padBegin = 0
                    axis.padEnd = total
                } else {
                    total = max(0, total)
                    axis.padBegin = autoPad == .sameUpper ? total / 2 : total - total / 2
                    axis.padEnd = total - axis.padBegin
                }
            } else if autoPad == .valid {
                axis.padBegin = 0
                axis.padEnd = 0
            }
            axis.output = natural - axis.padBegin - axis.padEnd
            guard axis.output >= 0 else {
                throw window.error(.attribute("pads"), "pads \(axis.padBegin)+\(axis.padEnd) exceed the output size \(natural)")
            }
            axes.append(axis)
        }
        return axes
    }
}
