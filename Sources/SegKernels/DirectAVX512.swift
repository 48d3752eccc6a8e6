#if arch(x86_64)
import SegKernelsVNNI
#endif

/// Implicit-GEMM convs with few output channels that read their input in place (stride 1 along
/// W on maps at least 48 wide: U-Net's 32→16 and 16→16 3×3 decoder convs at 384×480) on the
/// AVX-512 kernel: along each output row, the columns whose taps all fall inside the image read
/// the input through the offset table (`directOffsets`: depth row (c, ky, kx) at
/// c·plane + ky·dH·W + kx·dW from the row's origin), eight output channels × 32 pixels per step;
/// the border columns, and rows whose taps reach the padding, are packed as im2col panels first.
extension Conv2D {
    /// Most input rows (channels × kernel rows) one 32-pixel step may read: each is on its own
    /// pages of a large map, and past the L1 TLB's reach the kernel stops gaining (U-Net at
    /// 384×480: 16→16 3×3, 48 rows, 16.3–17.1 → 12.7–13.5 ms; 32→16, 96 rows, 31–34 ms either way).
    static let directAVX512MaxInputRows = 64

    /// Deeper convs (more input rows than that, stride 1 along H too) gather them first: for a
    /// band of `directGatherRows` output rows, each input row the band reads is copied, one
    /// sequential stream at a time and with the conv's left and right padding as zeros, into a
    /// block that stays in L2 (`gatherRowWidth` floats per row, band rows + kernel span per
    /// channel); the sweep then reads that block through offsets of the same form. In place,
    /// U-Net's 32→16 3×3 at 384×480 waited on 96 row streams the prefetchers do not follow.
    static func directGathers(_ s: Conv2DShape) -> Bool {
        s.strideH == 1 && s.inputChannels * s.kernelH > directAVX512MaxInputRows
    }
    static let directGatherRows = 4
    /// Whether `directOffsets` address the gathered block rather than the input (set at init
    /// for AVX-512 convs that `directGathers`).
    var directOffsetsIntoGatheredBlock: Bool {
        !avx512Weights.isEmpty && algorithm == .implicitGEMM && !directOffsets.isEmpty && Self.directGathers(shape)
    }
    static func gatherRowWidth(_ s: Conv2DShape) -> Int { s.width + s.pads.left + s.pads.right }
    static func gatherChannelFloats(_ s: Conv2DShape) -> Int {
        (directGatherRows + (s.kernelH - 1) * s.dilationH) * gatherRowWidth(s)
    }

    func runDirectAVX512(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                         residual: UnsafePointer<Float>?, beta: Float, residualBeforeActivation: Bool, context: KernelContext) {
        #if arch(x86_64)
        let s = shape, m = s.outputChannels, outH = outputHeight, outW = outputWidth
        let k = s.inputChannels * s.kernelH * s.kernelW
        let inPlane = s.height * s.width, outPlane = outH * outW
        let spanW = (s.kernelW - 1) * s.dilationW, spanH = (s.kernelH - 1) * s.dilationH
        // Output columns whose every tap reads inside the image (stride 1 along W).
        let interiorLow = min(outW, s.pads.left)
        let interiorHigh = max(interiorLow, min(outW, s.width - spanW + s.pads.left))
        let panelColumns = (outW + 15) / 16 * 16
        if directOffsetsIntoGatheredBlock {
            return runDirectGathered(input: input, batch: batch, output: output, residual: residual, beta: beta,
                                     residualBeforeActivation: residualBeforeActivation, context: context)
        }
        withDirectSweep(outPlane: outPlane, beta: beta, residualBeforeActivation: residualBeforeActivation) { sweep, offsets in
            context.pool.parallelFor(batch * outH) { rows in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: k * panelColumns) { scratch in
                    guard let panels = scratch.baseAddress else { return }
                    for task in rows {
                        let image = task / outH, oy = task % outH
                        let x = input + image * s.inputChannels * inPlane
                        let out = output + image * m * outPlane + oy * outW
                        let res = residual.map { $0 + image * m * outPlane + oy * outW }
                        /// Columns [a, b) of this output row from `source` in `layout` (or
                        /// through the offsets), every output channel.
                        func sweepColumns(_ a: Int, _ b: Int, _ source: UnsafePointer<Float>, _ layout: PointwiseAVX512Layout,
                                          _ table: UnsafePointer<Int>?) {
                            sweep.run(channels: 0..<m, columns: b - a, source: source, xStride: 0, layout: layout, offsets: table,
                                      output: out + a, residual: res.map { $0 + a })
                        }
                        func packed(_ a: Int, _ b: Int) {
                            guard a < b else { return }
                            let operand = Im2colOperand(input: x, height: s.height, width: s.width, kernelH: s.kernelH, kernelW: s.kernelW,
                                                        strideH: s.strideH, strideW: s.strideW, padTop: s.pads.top, padLeft: s.pads.left,
                                                        dilationH: s.dilationH, dilationW: s.dilationW, outW: outW)
                            operand.pack(columns: (oy * outW + a)..<(oy * outW + b), depth: 0..<k, into: panels)
                            sweepColumns(a, b, panels, .panels, nil)
                        }
                        let iy = oy * s.strideH - s.pads.top
                        if iy >= 0 && iy + spanH < s.height && interiorLow < interiorHigh {
                            packed(0, interiorLow)
                            sweepColumns(interiorLow, interiorHigh, x + iy * s.width + interiorLow - s.pads.left, .planes, offsets)
                            packed(interiorHigh, outW)
                        } else {
                            packed(0, outW)
                        }
                    }
                }
            }
        }
        #endif
    }

    /// `runDirectAVX512` for convs that gather their input rows (`directGathers`).
    private func runDirectGathered(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>,
                                   residual: UnsafePointer<Float>?, beta: Float, residualBeforeActivation: Bool,
                                   context: KernelContext) {
        #if arch(x86_64)
        let s = shape, m = s.outputChannels, outH = outputHeight, outW = outputWidth
        let inPlane = s.height * s.width, outPlane = outH * outW
        let band = Self.directGatherRows, spanH = (s.kernelH - 1) * s.dilationH
        let rowWidth = Self.gatherRowWidth(s), channelFloats = Self.gatherChannelFloats(s)
        let bands = (outH + band - 1) / band
        withDirectSweep(outPlane: outPlane, beta: beta, residualBeforeActivation: residualBeforeActivation) { sweep, offsets in
            context.pool.parallelFor(batch * bands) { tasks in
                let block = UnsafeMutablePointer<Float>.allocate(capacity: s.inputChannels * channelFloats)
                defer { block.deallocate() }
                for task in tasks {
                    let image = task / bands, oy0 = task % bands * band
                    let rows = min(band, outH - oy0)
                    let x = input + image * s.inputChannels * inPlane
                    for c in 0..<s.inputChannels {
                        for r in 0..<(rows + spanH) {
                            let iy = oy0 + r - s.pads.top
                            let row = block + c * channelFloats + r * rowWidth
                            guard iy >= 0 && iy < s.height else { row.update(repeating: 0, count: rowWidth); continue }
                            row.update(repeating: 0, count: s.pads.left)
                            (row + s.pads.left).update(from: x + c * inPlane + iy * s.width, count: s.width)
                            (row + s.pads.left + s.width).update(repeating: 0, count: s.pads.right)
                        }
                    }
                    for r in 0..<rows {
                        let at = image * m * outPlane + (oy0 + r) * outW
                        sweep.run(channels: 0..<m, columns: outW, source: block + r * rowWidth, xStride: 0, layout: .planes,
                                  offsets: offsets, output: output + at, residual: residual.map { $0 + at })
                    }
                }
            }
        }
        #endif
    }

    #if arch(x86_64)
    /// The sweep over this conv's AVX-512 weights and its offset table, for the body.
    private func withDirectSweep(outPlane: Int, beta: Float, residualBeforeActivation: Bool,
                                 _ body: (AVX512ChannelSweep, UnsafePointer<Int>) -> Void) {
        avx512Weights.withUnsafeBufferPointer { wb in
            directOffsets.withUnsafeBufferPointer { ob in
                bias.withUnsafeBufferPointerOrNil { biasPointer in
                    guard let w = wb.baseAddress, let offsets = ob.baseAddress,
                          let sweep = AVX512ChannelSweep(conv: self, weights: w, bias: biasPointer, outPlane: outPlane,
                                                         residualBefore: residualBeforeActivation, accumulate: beta == 1) else { return }
                    body(sweep, offsets)
                }
            }
        }
    }
    #endif
}
