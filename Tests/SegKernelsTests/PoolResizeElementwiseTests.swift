import Foundation
import Testing
@testable import SegKernels

@Suite struct PoolingTests {
    @Test(arguments: contexts.indices)
    func globalAverage(_ contextIndex: Int) throws {
        for (c, h, w) in [(3, 1, 1), (5, 3, 7), (2, 9, 13)] {
            let x = randomValues(2 * c * h * w, seed: 60)
            var y = [Float](repeating: .nan, count: 2 * c)
            try globalAveragePool(input: x, batch: 2, channels: c, height: h, width: w, output: &y, context: contexts[contextIndex])
            let expected = (0..<(2 * c)).map { p in Float(x[(p * h * w)..<((p + 1) * h * w)].reduce(0.0) { $0 + Double($1) } / Double(h * w)) }
            expectClose(y, expected, "global average \(c)×\(h)×\(w)")
        }
    }

    @Test(arguments: contexts.indices)
    func windowedPools(_ contextIndex: Int) throws {
        let shapes = [Pool2DShape(channels: 2, height: 7, width: 9, kernel: (3, 3), strides: (2, 2), pads: (1, 1, 1, 1)),
                      Pool2DShape(channels: 3, height: 5, width: 6, kernel: (2, 3), strides: (1, 2), pads: (0, 1, 1, 0)),
                      Pool2DShape(channels: 1, height: 8, width: 7, kernel: (3, 3), strides: (2, 2), ceilMode: true),
                      Pool2DShape(channels: 2, height: 1, width: 1, kernel: (1, 1)),
                      // Rows wide enough for the eight-output vectors (strides 1 and 2), with
                      // edges on both sides and a remainder past the last full vector.
                      Pool2DShape(channels: 2, height: 9, width: 41, kernel: (3, 3), strides: (2, 2), pads: (1, 1, 1, 1)),
                      Pool2DShape(channels: 1, height: 5, width: 40, kernel: (2, 2), strides: (2, 2)),
                      Pool2DShape(channels: 2, height: 7, width: 35, kernel: (3, 5), strides: (1, 1), pads: (1, 2, 1, 2)),
                      Pool2DShape(channels: 1, height: 6, width: 30, kernel: (3, 3), strides: (1, 1), pads: (1, 1, 1, 1), ceilMode: true)]
        for (index, s) in shapes.enumerated() {
            let x = randomValues(s.channels * s.height * s.width, seed: 61)
            for kind in [PoolKind.max, .average(countIncludePad: true), .average(countIncludePad: false)] {
                var y = [Float](repeating: .nan, count: s.channels * s.outputHeight * s.outputWidth)
                try pool2D(kind, shape: s, input: x, batch: 1, output: &y, context: contexts[contextIndex])
                var expected: [Float] = []
                for c in 0..<s.channels {
                    for oy in 0..<s.outputHeight {
                        for ox in 0..<s.outputWidth {
                            var values: [Float] = [], padded = 0
                            for ky in 0..<s.kernelH {
                                for kx in 0..<s.kernelW {
                                    let iy = oy * s.strideH - s.pads.top + ky, ix = ox * s.strideW - s.pads.left + kx
                                    if iy >= 0, iy < s.height, ix >= 0, ix < s.width {
                                        values.append(x[(c * s.height + iy) * s.width + ix])
                                    } else if iy < s.height + s.pads.bottom, ix < s.width + s.pads.right {
                                        padded += 1
                                    }
                                }
                            }
                            switch kind {
                            case .max: expected.append(values.max()!)
                            case let .average(include):
                                let sum = values.reduce(0, +)
                                expected.append(sum / Float(values.count + (include ? padded : 0)))
                            }
                        }
                    }
                }
                expectClose(y, expected, "pool shape \(index) \(kind)")
            }
        }
    }

    @Test func ceilModeDropsWindowsStartingInPadding() {
        #expect(Pool2DShape(channels: 1, height: 8, width: 7, kernel: (3, 3), strides: (2, 2), ceilMode: true).outputHeight == 4)
        #expect(Pool2DShape(channels: 1, height: 5, width: 5, kernel: (2, 2), strides: (2, 2), pads: (0, 0, 1, 1), ceilMode: true).outputHeight == 3)
    }
}

@Suite struct ResizeTests {
    private func source(_ mode: ResizeMode, _ coordinates: ResizeCoordinates, _ o: Int, _ inLength: Int, _ outLength: Int) -> (Int, Int, Double) {
        let scale = Double(outLength) / Double(inLength)
        var x: Double
        switch coordinates {
        case .halfPixel: x = (Double(o) + 0.5) / scale - 0.5
        case .pytorchHalfPixel: x = outLength > 1 ? (Double(o) + 0.5) / scale - 0.5 : 0
        case .alignCorners: x = outLength > 1 ? Double(o) * Double(inLength - 1) / Double(outLength - 1) : 0
        case .asymmetric: x = Double(o) / scale
        }
        switch mode {
        case .linear:
            x = min(max(x, 0), Double(inLength - 1))
            let i0 = Int(x.rounded(.down))
            return (i0, min(i0 + 1, inLength - 1), x - Double(i0))
        case .nearestFloor:
            let i = min(max(Int(x.rounded(.down)), 0), inLength - 1)
            return (i, i, 0)
        case .nearestRoundPreferFloor:
            let r = x - x.rounded(.down) == 0.5 ? x.rounded(.down) : x.rounded()
            let i = min(max(Int(r), 0), inLength - 1)
            return (i, i, 0)
        }
    }

    @Test(arguments: contexts.indices)
    func matchesReference(_ contextIndex: Int) throws {
        let sizes = [(3, 5, 12, 20), (4, 4, 1, 1), (1, 1, 3, 5), (7, 9, 5, 4), (12, 15, 90, 120)]
        for (inH, inW, outH, outW) in sizes {
            let x = randomValues(2 * inH * inW, seed: 70)
            for mode in [ResizeMode.linear, .nearestFloor, .nearestRoundPreferFloor] {
                for coordinates in [ResizeCoordinates.halfPixel, .pytorchHalfPixel, .alignCorners, .asymmetric] {
                    var y = [Float](repeating: .nan, count: 2 * outH * outW)
                    try resize(mode, coordinates: coordinates, input: x, planes: 2, inHeight: inH, inWidth: inW,
                               output: &y, outHeight: outH, outWidth: outW, context: contexts[contextIndex])
                    var expected: [Float] = []
                    for p in 0..<2 {
                        for oy in 0..<outH {
                            let (y0, y1, wy) = source(mode, coordinates, oy, inH, outH)
                            for ox in 0..<outW {
                                let (x0, x1, wx) = source(mode, coordinates, ox, inW, outW)
                                func v(_ r: Int, _ c: Int) -> Double { Double(x[(p * inH + r) * inW + c]) }
                                let top = v(y0, x0) * (1 - wx) + v(y0, x1) * wx
                                let bottom = v(y1, x0) * (1 - wx) + v(y1, x1) * wx
                                expected.append(Float(top * (1 - wy) + bottom * wy))
                            }
                        }
                    }
                    expectClose(y, expected, "resize \(inH)×\(inW)→\(outH)×\(outW) \(mode) \(coordinates)")
                }
            }
        }
    }
}

@Suite struct ElementwiseTests {
    @Test(arguments: contexts.indices)
    func broadcastsAndGates(_ contextIndex: Int) throws {
        let (n, c, plane) = (2, 3, 13)
        let a = randomValues(n * c * plane, seed: 80)
        for broadcast in [Broadcast.none, .channel, .imageChannel, .scalar] {
            let bCount = broadcast == .none ? n * c * plane : broadcast == .channel ? c : broadcast == .imageChannel ? n * c : 1
            let b = randomValues(bCount, seed: 81).map { $0 * 4 }
            for operation in [BinaryOperation.add, .multiply] {
                for (bActivation, activation) in [(Activation.none, Activation.none), (.hardSigmoid(alpha: 0.2, beta: 0.5), .none),
                                                  (.sigmoid, .none), (.none, .relu)] {
                    var y = [Float](repeating: .nan, count: a.count)
                    try binary(operation, a: a, b: b, broadcast: broadcast, output: &y, batch: n, channels: c, plane: plane,
                               bActivation: bActivation, activation: activation, context: contexts[contextIndex])
                    let expected = a.indices.map { i -> Float in
                        let p = i / plane
                        let bi = broadcast == .none ? i : broadcast == .channel ? p % c : broadcast == .imageChannel ? p : 0
                        let bv = referenceActivation(bActivation, Double(b[bi]))
                        let v = operation == .add ? Double(a[i]) + bv : Double(a[i]) * bv
                        return Float(referenceActivation(activation, v))
                    }
                    expectClose(y, expected, "\(operation) \(broadcast) gate=\(bActivation) act=\(activation)")
                }
            }
        }
    }

    @Test(arguments: contexts.indices)
    func activationsInPlace(_ contextIndex: Int) {
        let x = randomValues(9001, seed: 90).map { $0 * 100 }
        for activation in allActivations {
            var y = x
            applyActivation(activation, to: &y, count: y.count, context: contexts[contextIndex])
            expectClose(y, x.map { Float(referenceActivation(activation, Double($0))) }, "activation \(activation)")
        }
    }
}
