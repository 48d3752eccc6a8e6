import Dispatch

/// PNG encoding for previews written on a hot path (segment overlays and masks): one fixed
/// filter per image, run-length deflate (`DeflateRLE`), and row bands compressed on several
/// threads and joined into one stream. About 10-20× faster than the LZ77 encoder and a few
/// percent to a third larger (measured on CamVid overlays; `benchmarks/imaging_encode_speed.py`).
extension PNG {
    package struct FastOptions: Sendable, Equatable {
        /// PNG filter for every row (0 none, 1 sub, 2 up). nil: up for gray/RGB/RGBA (neighbouring
        /// rows of photos and overlays agree), none for palette indices (runs are already long).
        package var filter: UInt8?
        /// Row bands compressed at once; each is at least `minBandBytes` of pixels.
        package var threads: Int

        package init(filter: UInt8? = nil, threads: Int = 2) {
            self.filter = filter
            self.threads = threads
        }

        static let minBandBytes = 64 * 1024
    }

    /// Encodes an 8-bit image (1 channel gray, 3 RGB, 4 RGBA) for speed.
    package static func encodeFast(_ image: Image, options: FastOptions = .init()) throws(ImagingError) -> [UInt8] {
        let type: ColorType = switch image.channels {
        case 1: .gray
        case 3: .rgb
        default: .rgba
        }
        return try writeFast(image, type: type, palette: nil, filter: options.filter ?? 2, threads: options.threads)
    }

    /// Encodes palette indices for speed (the mask of a segment request).
    package static func encodeIndexedFast(_ indices: Image, palette: [RGB], options: FastOptions = .init()) throws(ImagingError) -> [UInt8] {
        try checkIndexed(indices, palette: palette, alphas: nil)
        return try writeFast(indices, type: .palette, palette: palette, filter: options.filter ?? 0, threads: options.threads)
    }

    private static func writeFast(_ image: Image, type: ColorType, palette: [RGB]?, filter: UInt8, threads: Int) throws(ImagingError) -> [UInt8] {
        guard filter <= 2 else {
            throw ImagingError(.invalidArgument, format: "PNG", "the fast encoder takes filter 0, 1 or 2, not \(filter)")
        }
        let rowBytes = image.width * image.channels
        let height = image.height
        let bands = max(1, min(threads, rowBytes * height / FastOptions.minBandBytes, height))
        // Each band filters its own rows (the row above a band's first row is read, not
        // written) and compresses them; all but the last end with a sync flush.
        var pieces = [[UInt8]](repeating: [], count: bands)
        var adlers = [UInt32](repeating: 1, count: bands)
        let bpp = image.channels
        image.pixels.withUnsafeBufferPointer { pixels in
            let results = UnsafeMutableBufferPointer<([UInt8], UInt32)>.allocate(capacity: bands)
            results.initialize(repeating: ([], 1))
            defer { results.deallocate() }
            // Each band reads shared pixels and writes only its own result slot.
            nonisolated(unsafe) let px = pixels, out = results
            DispatchQueue.concurrentPerform(iterations: bands) { band in
                let y0 = band * height / bands, y1 = (band + 1) * height / bands
                var filtered = [UInt8](repeating: 0, count: (rowBytes + 1) * (y1 - y0))
                filtered.withUnsafeMutableBufferPointer { f in
                    for y in y0..<y1 {
                        let dst = f.baseAddress! + (y - y0) * (rowBytes + 1)
                        dst[0] = filter
                        let cur = px.baseAddress! + y * rowBytes
                        filterRow(filter, cur: cur, prev: y > 0 ? cur - rowBytes : nil, count: rowBytes, bpp: bpp, into: dst + 1)
                    }
                }
                var w = DeflateBitWriter()
                // Room for the worst case (15-bit literals), so appending never reallocates.
                w.bytes.reserveCapacity(filtered.count * 2 + 1024)
                filtered.withUnsafeBufferPointer { DeflateRLE.compress($0, final: band == bands - 1, into: &w) }
                w.alignToByte()   // the last band's final bits; other bands end aligned already
                let adler = filtered.withUnsafeBufferPointer { Checksum.adler32(contiguous: $0, adler: 1) }
                out[band] = (w.bytes, adler)
            }
            for b in 0..<bands { (pieces[b], adlers[b]) = results[b] }
        }
        var zlib: [UInt8] = [0x78, 0x01]   // deflate, 32 KiB window, "fastest" level hint
        zlib.reserveCapacity(pieces.reduce(6) { $0 + $1.count })
        var adler: UInt32 = 1
        for b in 0..<bands {
            zlib += pieces[b]
            let y0 = b * height / bands, y1 = (b + 1) * height / bands
            adler = Checksum.adler32Combine(adler, adlers[b], length: (rowBytes + 1) * (y1 - y0))
        }
        for shift in [24, 16, 8, 0] { zlib.append(UInt8((adler >> UInt32(shift)) & 0xFF)) }
        return container(image, type: type, palette: palette, alphas: nil, idat: zlib)
    }

    /// PNG filters 0-2 (spec §9.2) on one row; `prev` nil for the first row.
    private static func filterRow(_ t: UInt8, cur: UnsafePointer<UInt8>, prev: UnsafePointer<UInt8>?, count n: Int, bpp: Int,
                                  into out: UnsafeMutablePointer<UInt8>) {
        switch (t, prev) {
        case (1, _):
            for i in 0..<min(bpp, n) { out[i] = cur[i] }
            if n > bpp { for i in bpp..<n { out[i] = cur[i] &- cur[i - bpp] } }
        case (2, let prev?):
            for i in 0..<n { out[i] = cur[i] &- prev[i] }
        default:
            out.update(from: cur, count: n)
        }
    }
}

extension Checksum {
    /// Adler-32 of A followed by B from adler(A), adler(B) and B's length (zlib's
    /// `adler32_combine`): a = aA + aB − 1, b = bA + bB + len·(aA − 1), all mod 65521.
    static func adler32Combine(_ first: UInt32, _ second: UInt32, length: Int) -> UInt32 {
        let m: UInt64 = 65521
        let rem = UInt64(length) % m
        let a1 = UInt64(first & 0xFFFF), b1 = UInt64(first >> 16)
        let a2 = UInt64(second & 0xFFFF), b2 = UInt64(second >> 16)
        let a = (a1 + a2 + m - 1) % m
        let b = (b1 + b2 + rem * ((a1 + m - 1) % m)) % m
        return UInt32(b << 16 | a)
    }
}
