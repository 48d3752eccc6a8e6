#if arch(x86_64)
import SegKernelsVNNI
#endif

/// Implicit-GEMM convs with few output channels (a 3→16 3×3/2 stem: M = 16) on the AVX-512
/// kernel: the packed GEMM tiles M by 6 rows, so 16 channels cost three micro-kernel calls per
/// panel, the last through a scratch tile and a merge. Here each band of output pixels is packed
/// once as im2col panels (`Im2colOperand.pack`, the GEMM's own B packing), and
/// `pointwiseRowsAVX512` sweeps it eight output channels at a time, epilogue before the one store.
/// Convs that read the input in place (stride 1 along W on wide maps) or in row bands keep the
/// GEMM: packing im2col there would copy each input value kH·kW times.
extension Conv2D {
    /// Largest Cout taken (a multiple of 8, so no group is computed partly empty).
    static let im2colMaxOutputChannels = 64

    static func usesIm2colKernel(_ shape: Conv2DShape, activation: Activation, options: KernelOptions) -> Bool {
        guard KernelISA.hasVNNI, options.im2colAVX512, shape.groups == 1,
              shape.outputChannels % 8 == 0, shape.outputChannels <= im2colMaxOutputChannels,
              shape.outputHeight * shape.outputWidth > 1 else { return false }
        return epilogueCode(activation) != nil
    }

    func runIm2colAVX512(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                         residual: UnsafePointer<Float>?, beta: Float, residualBeforeActivation: Bool, context: KernelContext) {
        #if arch(x86_64)
        let s = shape, m = s.outputChannels
        let k = s.inputChannels * s.kernelH * s.kernelW
        let inPlane = s.height * s.width, outPlane = outputHeight * outputWidth
        // Bands of whole panels, small enough that their panels (k × band floats) stay in L2,
        // and at least two per thread.
        let threads = context.pool.threadCount
        let widest = max(16, min(Self.smallDepthBandPixels(depth: k), (outPlane + 2 * threads - 1) / (2 * threads)))
        let bandPixels = (widest + 15) / 16 * 16
        let bands = (outPlane + bandPixels - 1) / bandPixels
        avx512Weights.withUnsafeBufferPointer { wb in
            bias.withUnsafeBufferPointerOrNil { biasPointer in
                guard let w = wb.baseAddress,
                      let sweep = AVX512ChannelSweep(conv: self, weights: w, bias: biasPointer, outPlane: outPlane,
                                                     residualBefore: residualBeforeActivation, accumulate: beta == 1) else { return }
                context.pool.parallelFor(batch * bands) { tasks in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: k * bandPixels) { scratch in
                        guard let panels = scratch.baseAddress else { return }
                        for task in tasks {
                            let image = task / bands, j0 = task % bands * bandPixels
                            let columns = min(bandPixels, outPlane - j0)
                            let operand = Im2colOperand(input: input + image * s.inputChannels * inPlane, height: s.height, width: s.width,
                                                        kernelH: s.kernelH, kernelW: s.kernelW, strideH: s.strideH, strideW: s.strideW,
                                                        padTop: s.pads.top, padLeft: s.pads.left,
                                                        dilationH: s.dilationH, dilationW: s.dilationW, outW: outputWidth)
                            operand.pack(columns: j0..<(j0 + columns), depth: 0..<k, into: panels)
                            let out = output + image * m * outPlane + j0
                            let res = residual.map { $0 + image * m * outPlane + j0 }
                            sweep.run(channels: 0..<m, columns: columns, source: panels, xStride: 0, layout: .panels,
                                      output: out, residual: res)
                        }
                    }
                }
            }
        }
        #endif
    }
}
