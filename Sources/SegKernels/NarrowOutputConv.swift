#if arch(x86_64)
import SegKernelsVNNI
#endif

/// Convs with a few output channels that are not a multiple of eight and a kernel larger than
/// 1×1 (segmentation heads: PSPNet's 512→11 3×3 classifier at 48×60) on the AVX-512 kernel
/// with channels across the vector lanes (`narrowOutputPixelsAVX512`). Neither AVX-512 path
/// takes them (both sweep channels in groups of eight), and the packed GEMM spent most of such
/// a conv copying im2col panels whose every value it then used only Cout times (7.7 ms at one
/// thread for that head, 38 GFLOP/s). Here each image is copied once into a zero-bordered
/// buffer, then every output row is swept twelve pixels at a time, reading that buffer in
/// place through an offset table: no vertical or horizontal padding cases, any stride or
/// dilation.
extension Conv2D {
    /// Output channels one sweep handles (two 16-lane vectors).
    static let narrowOutputMaxChannels = 32
    /// Pixels per kernel call (its accumulators per vector).
    static let narrowOutputPixels = 12

    static func usesNarrowOutputKernel(_ s: Conv2DShape, options: KernelOptions) -> Bool {
        KernelISA.hasVNNI && options.directConv && s.groups == 1 && s.kernelH * s.kernelW > 1
            && s.outputChannels % 8 != 0 && s.outputChannels <= narrowOutputMaxChannels
            && s.outputWidth >= narrowOutputPixels && s.inputChannels * s.kernelH * s.kernelW >= narrowOutputMinDepth
    }

    /// Shallower convs keep the packed GEMM: their panels are small and the copy is cheap
    /// beside the multiply-adds.
    static let narrowOutputMinDepth = 512

    /// The weights with channels across, in blocks of 32 channels (the last block 16 wide when
    /// at most 16 remain): block b as [depth][lanes] at offset 32·b·depth, zero past the real
    /// channels. One block for the narrow sweep, Cout/32 (rounded up) for the lane sweep.
    static func channelLaneWeights(_ s: Conv2DShape, weights: UnsafePointer<Float>) -> [Float] {
        let depth = s.inputChannels * s.kernelH * s.kernelW
        var t = [Float](repeating: 0, count: depth * ((s.outputChannels + 15) / 16 * 16))
        forEachLaneWeight(s) { o, d, lane in t[lane] = weights[o * depth + d] }
        return t
    }

    /// `channelLaneWeights` undone: [Cout][depth], for a run on the portable GEMM.
    func laneWeightsInONNXOrder() -> [Float] {
        let depth = shape.inputChannels * shape.kernelH * shape.kernelW
        var w = [Float](repeating: 0, count: shape.outputChannels * depth)
        Self.forEachLaneWeight(shape) { o, d, lane in w[o * depth + d] = laneWeights[lane] }
        return w
    }

    /// Calls `body(o, d, index)` for every output channel o and depth row d with the weight's
    /// index in the channels-across layout.
    private static func forEachLaneWeight(_ s: Conv2DShape, _ body: (Int, Int, Int) -> Void) {
        let depth = s.inputChannels * s.kernelH * s.kernelW
        let blocks = (s.outputChannels + 31) / 32
        let lastLanes = s.outputChannels - 32 * (blocks - 1) <= 16 ? 16 : 32
        for o in 0..<s.outputChannels {
            let block = o / 32, lanes = block == blocks - 1 ? lastLanes : 32
            let panel = 32 * block * depth
            for d in 0..<depth { body(o, d, panel + d * lanes + o % 32) }
        }
    }

    /// Depth row (c, ky, kx) → its offset in the zero-bordered image from a pixel's origin.
    static func zeroBorderedOffsets(_ s: Conv2DShape) -> [Int] {
        let wp = s.width + s.pads.left + s.pads.right
        return depthRowOffsets(s, channels: s.inputChannels, plane: (s.height + s.pads.top + s.pads.bottom) * wp, rowWidth: wp)
    }

    /// Copies one image into `padded` (channel planes of (H + pads) × (W + pads) floats, zeros
    /// around), threaded over channels.
    func copyZeroBordered(_ x: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>, context: KernelContext) {
        let s = shape, inPlane = s.height * s.width
        let wp = s.width + s.pads.left + s.pads.right, hp = s.height + s.pads.top + s.pads.bottom
        context.pool.parallelFor(s.inputChannels) { channels in
            for c in channels {
                let dst = padded + c * hp * wp, src = x + c * inPlane
                dst.update(repeating: 0, count: s.pads.top * wp)
                for y in 0..<s.height {
                    let row = dst + (s.pads.top + y) * wp
                    row.update(repeating: 0, count: s.pads.left)
                    (row + s.pads.left).update(from: src + y * s.width, count: s.width)
                    (row + s.pads.left + s.width).update(repeating: 0, count: s.pads.right)
                }
                (dst + (s.pads.top + s.height) * wp).update(repeating: 0, count: s.pads.bottom * wp)
            }
        }
    }

    func runNarrowOutput(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                         residual: UnsafePointer<Float>?, beta: Float, residualBeforeActivation: Bool, context: KernelContext) {
        #if arch(x86_64)
        let s = shape, m = s.outputChannels, outH = outputHeight, outW = outputWidth
        let depth = s.inputChannels * s.kernelH * s.kernelW
        let inPlane = s.height * s.width, outPlane = outH * outW
        let wp = s.width + s.pads.left + s.pads.right, hp = s.height + s.pads.top + s.pads.bottom
        let vectors = m <= 16 ? 1 : 2
        let pixels = Self.narrowOutputPixels
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: s.inputChannels * hp * wp)
        defer { padded.deallocate() }
        laneWeights.withUnsafeBufferPointer { wb in
        laneOffsets.withUnsafeBufferPointer { ob in
        bias.withUnsafeBufferPointerOrNil { biasPointer in
            guard let wT = wb.baseAddress, let offsets = ob.baseAddress else { return }
            for image in 0..<batch {
                let x = input + image * s.inputChannels * inPlane
                copyZeroBordered(x, into: padded, context: context)
                let out = output + image * m * outPlane
                let res = residual.map { $0 + image * m * outPlane }
                context.pool.parallelFor(outH) { rows in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: pixels * 32) { tileBuffer in
                        guard let tile = tileBuffer.baseAddress else { return }
                        for oy in rows {
                            let rowOut = out + oy * outW
                            let epilogue = Epilogue(bias: biasPointer.map { .perRow($0) } ?? .none, activation: activation,
                                                    residual: res.map { $0 + oy * outW }, residualLeadingDimension: outPlane,
                                                    residualBeforeActivation: residualBeforeActivation)
                            var next = 0
                            while next < outW {
                                // The last block of a row ends at the row's end, overlapping the
                                // one before; only its new pixels are stored.
                                let start = min(next, outW - pixels)
                                narrowOutputPixelsAVX512(depth, offsets, padded + oy * s.strideH * wp + start * s.strideW,
                                                         s.strideW, wT, vectors, tile, 32, false)
                                for o in 0..<m {
                                    let dst = rowOut + o * outPlane
                                    for r in (next - start)..<pixels {
                                        let sum = tile[r * 32 + o]
                                        dst[start + r] = beta == 0 ? sum : sum + beta * dst[start + r]
                                    }
                                }
                                epilogue.apply(c: rowOut, ldc: outPlane, rows: 0..<m, columns: next..<(start + pixels))
                                next = start + pixels
                            }
                        }
                    }
                }
            }
        }
        }
        }
        #endif
    }
}
