/// One spatial axis of a sliding-window op (Conv, ConvTranspose, pooling).
///
/// Output position `o` reads input positions `o * stride - padBegin + t * dilation` for taps
/// `t` in `0..<kernel`; positions outside `0..<input` are padding. For ConvTranspose the roles
/// swap: input position `i` writes output `i * stride - padBegin + t * dilation`.
package struct SpatialAxis: Sendable, Equatable {
    package var input: Int
    package var output: Int
    package var kernel: Int
    package var stride: Int
    package var dilation: Int
    package var padBegin: Int
    package var padEnd: Int

    package init(input: Int, output: Int, kernel: Int, stride: Int, dilation: Int, padBegin: Int, padEnd: Int) {
        self.input = input
        self.output = output
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.padBegin = padBegin
        self.padEnd = padEnd
    }

    package static let unit = SpatialAxis(input: 1, output: 1, kernel: 1, stride: 1, dilation: 1, padBegin: 0, padEnd: 0)

    /// Extent of one dilated window.
    package var span: Int { (kernel - 1) * dilation + 1 }

    /// Per output position, the input positions its window reads (padding left out): a
    /// pooling window's members.
    package var windows: [[Int]] {
        (0..<output).map { o in
            (0..<kernel).map { o * stride - padBegin + $0 * dilation }.filter { $0 >= 0 && $0 < input }
        }
    }

    /// Per output position, its taps inside the input and the explicit padding: the divisor of
    /// AveragePool with count_include_pad. The extra end positions ceil_mode adds are not
    /// counted (PyTorch and ONNX Runtime agree on this).
    package var paddedTapCounts: [Int] {
        (0..<output).map { o in
            (0..<kernel).filter { o * stride - padBegin + $0 * dilation < input + padEnd }.count
        }
    }

    /// The outputs whose tap `t` lands inside the input, so kernels can loop without a
    /// bounds test per element.
    package func validOutputs(tap t: Int) -> Range<Int> {
        let offset = t * dilation - padBegin
        let lo = max(0, WindowMath.ceilDiv(-offset, stride))
        let hi = min(output, WindowMath.floorDiv(input - 1 - offset, stride) + 1)
        return lo < hi ? lo..<hi : 0..<0
    }
}

/// Integer division with the rounding window arithmetic needs (numerators may be negative,
/// divisors are positive strides).
package enum WindowMath {
    @inline(__always)
    package static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    @inline(__always)
    package static func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
}
