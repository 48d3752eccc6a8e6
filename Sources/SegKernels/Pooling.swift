/// Global average pool: input NCHW [batch, channels, height, width] → output [batch, channels]
/// (the ONNX [N, C, 1, 1] with the unit axes dropped): y[n][c] = Σ x[n][c] / (H·W).
/// Sums in float with eight partial lanes.
package func globalAveragePool(input: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int,
                              output: UnsafeMutablePointer<Float>, context: KernelContext = .shared) throws(KernelError) {
    for (name, value) in [("batch", batch), ("channels", channels), ("height", height), ("width", width)] {
        try require(value >= (name == "batch" ? 0 : 1), name, value, "must be ≥ 1")
    }
    let plane = height * width
    let scale = 1 / Float(plane)
    context.pool.parallelFor(batch * channels) { range in
        for p in range {
            let x = input + p * plane
            var lanes = SIMD8<Float>()
            var i = 0
            while i + 8 <= plane { lanes += load8(x + i); i += 8 }
            var sum = lanes.sum()
            while i < plane { sum += x[i]; i += 1 }
            output[p] = sum * scale
        }
    }
}

/// Window geometry of an ONNX AveragePool / MaxPool over NCHW float32.
/// outH = floor-or-ceil((H + padTop + padBottom − kH) / sH) + 1; with `ceilMode`, a last
/// window that would start in the bottom/right padding is dropped (as PyTorch and ORT do).
package struct Pool2DShape: Sendable {
    package var channels: Int, height: Int, width: Int
    package var kernelH: Int, kernelW: Int
    package var strideH: Int, strideW: Int
    package var pads: (top: Int, left: Int, bottom: Int, right: Int)
    package var ceilMode: Bool

    package init(channels: Int, height: Int, width: Int, kernel: (Int, Int), strides: (Int, Int) = (1, 1),
                pads: (Int, Int, Int, Int) = (0, 0, 0, 0), ceilMode: Bool = false) {
        self.channels = channels; self.height = height; self.width = width
        (kernelH, kernelW) = kernel
        (strideH, strideW) = strides
        self.pads = (pads.0, pads.1, pads.2, pads.3)
        self.ceilMode = ceilMode
    }

    private func extent(_ size: Int, _ before: Int, _ after: Int, _ kernel: Int, _ stride: Int) -> Int {
        let span = size + before + after - kernel
        guard span >= 0 else { return 0 }
        var count = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
        if ceilMode && (count - 1) * stride >= size + before { count -= 1 }
        return count
    }

    package var outputHeight: Int { extent(height, pads.top, pads.bottom, kernelH, strideH) }
    package var outputWidth: Int { extent(width, pads.left, pads.right, kernelW, strideW) }

    func validate() throws(KernelError) {
        for (name, value) in [("channels", channels), ("height", height), ("width", width), ("kernelH", kernelH),
                              ("kernelW", kernelW), ("strideH", strideH), ("strideW", strideW)] {
            try require(value >= 1, name, value, "must be ≥ 1")
        }
        for (name, value) in [("padTop", pads.top), ("padLeft", pads.left), ("padBottom", pads.bottom), ("padRight", pads.right)] {
            try require(value >= 0, name, value, "must be ≥ 0")
        }
        try require(pads.top < kernelH && pads.bottom < kernelH && pads.left < kernelW && pads.right < kernelW,
                    "pads", "\(pads)", "must be smaller than the kernel")
        try require(outputHeight >= 1 && outputWidth >= 1, "output size", "\(outputHeight)×\(outputWidth)", "must be ≥ 1×1")
    }
}

package enum PoolKind: Sendable, Equatable {
    /// Max over the window's input elements (padding never wins).
    case max
    /// Mean over the window. `countIncludePad`: divide by the window clipped to the padded
    /// input (ONNX count_include_pad = 1); otherwise by the number of real input elements.
    case average(countIncludePad: Bool)
}

/// 2-D pooling NCHW [batch, C, H, W] → [batch, C, outH, outW].
/// Separable: for each output row, the window's input rows are first combined column by
/// column (contiguous, SIMD8) into one row, then each output takes its kW-wide stretch of
/// that row. kH·W + kW·outW operations per output row instead of kH·kW·outW.
package func pool2D(_ kind: PoolKind, shape: Pool2DShape, input: UnsafePointer<Float>, batch: Int,
                   output: UnsafeMutablePointer<Float>, context: KernelContext = .shared) throws(KernelError) {
    try shape.validate()
    try require(batch >= 0, "batch", batch, "must be ≥ 0")
    let s = shape
    let outH = s.outputHeight, outW = s.outputWidth
    let isMax = kind == .max
    let planes = batch * s.channels
    let work = planes * s.height * s.width
    let tasks = work >= parallelThreshold ? planes : 1
    context.pool.parallelFor(tasks) { range in
        let row = UnsafeMutablePointer<Float>.allocate(capacity: s.width + 8)
        defer { row.deallocate() }
        for p in (tasks == 1 ? 0..<planes : range) {
            let x = input + p * s.height * s.width
            let y = output + p * outH * outW
            for oy in 0..<outH {
                let y0 = oy * s.strideH - s.pads.top
                let yEnd = min(y0 + s.kernelH, s.height + s.pads.bottom)
                let ya = max(y0, 0), yb = min(yEnd, s.height)
                guard ya < yb else {
                    for ox in 0..<outW { y[oy * outW + ox] = 0 }
                    continue
                }
                // Column-wise combine of rows ya..<yb.
                row.update(from: x + ya * s.width, count: s.width)
                for iy in (ya + 1)..<max(yb, ya + 1) {
                    let src = x + iy * s.width
                    var j = 0
                    if isMax {
                        while j + 8 <= s.width { store8(max8(load8(row + j), load8(src + j)), row + j); j += 8 }
                        while j < s.width { row[j] = Swift.max(row[j], src[j]); j += 1 }
                    } else {
                        while j + 8 <= s.width { store8(load8(row + j) + load8(src + j), row + j); j += 8 }
                        while j < s.width { row[j] += src[j]; j += 1 }
                    }
                }
                let out = y + oy * outW
                // Interior outputs (window inside the row), eight at a time on strides 1 and 2
                // (a ResNet stem's 3×3/2 max pool was 4.7× ORT's time with every output scalar);
                // the same operations per lane, in the same order, as the scalar loops below.
                let (sW, kW, pL) = (s.strideW, s.kernelW, s.pads.left)
                let vectorStart = min(outW, (pL + sW - 1) / sW)
                let interiorEnd = s.width - kW + pL < 0 ? 0 : min(outW, (s.width - kW + pL) / sW + 1)
                var vectorEnd = vectorStart
                if sW <= 2 {
                    let count = Float((isMax || kind == .average(countIncludePad: false) ? yb - ya : yEnd - y0) * kW)
                    while vectorEnd + 8 <= interiorEnd {
                        let base = row + vectorEnd * sW - pL
                        var acc = SIMD8<Float>(repeating: isMax ? -.infinity : 0)
                        for t in 0..<kW {
                            // Stride 2: the even lanes of sixteen (the row has eight floats of slack).
                            let v = sW == 1 ? load8(base + t) : SIMD16<Float>(lowHalf: load8(base + t), highHalf: load8(base + t + 8)).evenHalf
                            acc = isMax ? max8(acc, v) : acc + v
                        }
                        store8(isMax ? acc : acc / count, out + vectorEnd)
                        vectorEnd += 8
                    }
                }
                /// The outputs left: edges, and what the vectors did not cover.
                @inline(__always) func scalarOutput(_ ox: Int) {
                    if isMax {
                        let x0 = ox * s.strideW - s.pads.left
                        let xa = max(x0, 0), xb = min(x0 + s.kernelW, s.width)
                        var best = -Float.infinity
                        var ix = xa
                        while ix < xb { let v = row[ix]; best = v > best ? v : best; ix += 1 }
                        out[ox] = xa < xb ? best : 0
                    } else if case let .average(countIncludePad) = kind {
                        let x0 = ox * s.strideW - s.pads.left
                        let xEnd = min(x0 + s.kernelW, s.width + s.pads.right)
                        let xa = max(x0, 0), xb = min(xEnd, s.width)
                        var sum: Float = 0
                        var ix = xa
                        while ix < xb { sum += row[ix]; ix += 1 }
                        let count = countIncludePad ? (yEnd - y0) * (xEnd - x0) : (yb - ya) * (xb - xa)
                        out[ox] = count > 0 ? sum / Float(count) : 0
                    }
                }
                for ox in 0..<vectorStart { scalarOutput(ox) }
                for ox in vectorEnd..<outW { scalarOutput(ox) }
            }
        }
    }
}
