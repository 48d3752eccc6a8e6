import SegParallel

extension Image {
    /// The same picture with three channels: gray is repeated, RGBA drops its alpha, RGB is
    /// returned as it is (no copy). What a network input and an overlay start from.
    package func rgb() -> Image {
        if channels == 3 { return self }
        let n = width * height, ch = channels
        var out = [UInt8](repeating: 0, count: n * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                if ch == 1 {
                    for i in 0..<n { let v = s[i]; d[3 * i] = v; d[3 * i + 1] = v; d[3 * i + 2] = v }
                } else {
                    for i in 0..<n { d[3 * i] = s[ch * i]; d[3 * i + 1] = s[ch * i + 1]; d[3 * i + 2] = s[ch * i + 2] }
                }
            }
        }
        return Image(unchecked: width, height, 3, out)
    }

    /// Runs `body` over row bands on up to `threads` threads, when the image is large enough to
    /// be worth it (each band at least `minPixels`); bands never share an output row.
    static func forEachBand(height: Int, width: Int, threads: Int, minPixels: Int = 32 * 1024,
                            _ body: @Sendable (Range<Int>) -> Void) {
        // On the kernels' pthread pool (see `JPEGDecoder.outputImage`).
        let bands = max(1, min(threads, height, height * width / max(minPixels, 1)))
        ThreadPool.shared.forEachBand(height: height, threads: bands, body)
    }
}
