import SegParallel

/// PNG encoding for previews written on a hot path (segment overlays and masks): one fixed
/// filter per image, run-length or literal-only deflate (`DeflateRLE`), and row bands
/// compressed on several threads and joined into one stream. About 10-20× faster than the LZ77
/// encoder and a few percent to a third larger (measured on CamVid overlays).
extension PNG {
    package struct FastOptions: Sendable, Equatable {
        /// PNG filter for every row (0 none, 1 sub, 2 up). nil: up for gray/RGB/RGBA (neighbouring
        /// rows of photos and overlays agree), none for palette indices (runs are already long).
        package var filter: UInt8?
        /// Threads compressing row bands at once; each band is at least `minBandBytes` of pixels.
        package var threads: Int
        /// Run matches (zlib's `Z_RLE`) or literals only (`Z_HUFFMAN_ONLY`). nil: runs for palette
        /// indices (masks are mostly runs), literals only for gray/RGB/RGBA: on filtered photos
        /// and overlays the run search cost more time than its 7% of size was worth.
        package var runs: Bool?

        package init(filter: UInt8? = nil, threads: Int = 2, runs: Bool? = nil) {
            self.filter = filter
            self.threads = threads
            self.runs = runs
        }

        static let minBandBytes = 64 * 1024
        /// Bands per thread, so uneven bands (sky, then a busy street) balance out.
        static let bandsPerThread = 2
    }

    /// One image for `encodeFast(batch:)`.
    package struct FastImage: Sendable {
        let image: Image
        let type: ColorType
        let palette: [RGB]?
        let filter: UInt8
        let runs: Bool

        /// An 8-bit image (1 channel gray, 3 RGB, 4 RGBA); filter nil: up; runs nil: literals only.
        package static func pixels(_ image: Image, filter: UInt8? = nil, runs: Bool? = nil) throws(ImagingError) -> FastImage {
            let type: ColorType = switch image.channels {
            case 1: .gray
            case 3: .rgb
            default: .rgba
            }
            return try FastImage(image: image, type: type, palette: nil, filter: filter ?? 2, runs: runs ?? false)
        }

        /// Palette indices with their colours; filter nil: none; runs nil: runs.
        package static func indexed(_ indices: Image, palette: [RGB], filter: UInt8? = nil, runs: Bool? = nil) throws(ImagingError) -> FastImage {
            try checkIndexed(indices, palette: palette, alphas: nil)
            return try FastImage(image: indices, type: .palette, palette: palette, filter: filter ?? 0, runs: runs ?? true)
        }

        private init(image: Image, type: ColorType, palette: [RGB]?, filter: UInt8, runs: Bool) throws(ImagingError) {
            guard filter <= 2 else {
                throw ImagingError(.invalidArgument, format: "PNG", "the fast encoder takes filter 0, 1 or 2, not \(filter)")
            }
            (self.image, self.type, self.palette, self.filter, self.runs) = (image, type, palette, filter, runs)
        }

        /// Row bands: at most `bandsPerThread` per thread, each at least `minBandBytes` of pixels.
        func bands(threads: Int) -> Int {
            max(1, min(threads * FastOptions.bandsPerThread, image.width * image.channels * image.height / FastOptions.minBandBytes, image.height))
        }
    }

    /// Encodes an 8-bit image (1 channel gray, 3 RGB, 4 RGBA) for speed.
    package static func encodeFast(_ image: Image, options: FastOptions = .init()) throws(ImagingError) -> [UInt8] {
        try encodeFast(batch: [.pixels(image, filter: options.filter, runs: options.runs)], threads: options.threads)[0]
    }

    /// Encodes palette indices for speed (the mask of a segment request).
    package static func encodeIndexedFast(_ indices: Image, palette: [RGB], options: FastOptions = .init()) throws(ImagingError) -> [UInt8] {
        try encodeFast(batch: [.indexed(indices, palette: palette, filter: options.filter, runs: options.runs)], threads: options.threads)[0]
    }

    /// Encodes several images at once: every row band of every image is one work item of one
    /// parallel loop (largest first, each to the least loaded thread), so a small mask's bands
    /// fill the time an overlay's leave idle instead of waiting for their own fork and join.
    package static func encodeFast(batch: [FastImage], threads: Int = 2) -> [[UInt8]] {
        struct Item { let job: Int, band: Int, bands: Int, bytes: Int }
        var items: [Item] = []
        for (j, job) in batch.enumerated() {
            let bands = job.bands(threads: threads)
            let bytes = job.image.width * job.image.channels * job.image.height / bands
            for b in 0..<bands { items.append(Item(job: j, band: b, bands: bands, bytes: bytes)) }
        }
        let work = items
        var pieces = [Piece](repeating: Piece(), count: items.count)
        pieces.withUnsafeMutableBufferPointer { results in
            // Each item reads its image's shared pixels and writes only its own result slot.
            nonisolated(unsafe) let out = results
            // The kernels' pthread pool (see `JPEGDecoder.outputImage`), largest bands first.
            ThreadPool.shared.forEachItem(costs: work.map(\.bytes), threads: threads) { k in
                let item = work[k]
                out[k] = compressBand(batch[item.job], band: item.band, of: item.bands)
            }
        }
        var byJob = [[Piece]](repeating: [], count: batch.count)
        for k in items.indices { byJob[items[k].job].append(pieces[k]) }
        return batch.indices.map { assemble(batch[$0], pieces: byJob[$0]) }
    }

    /// A band's deflate bytes (ending with a sync flush unless it is the image's last), the
    /// Adler-32 of its filtered rows and the CRC-32 of its compressed bytes, so the serial join
    /// only combines checksums.
    private struct Piece { var bytes: [UInt8] = []; var adler: UInt32 = 1; var crc: UInt32 = 0; var rawLength = 0 }

    private static func compressBand(_ job: FastImage, band: Int, of bands: Int) -> Piece {
        let image = job.image, filter = job.filter, bpp = image.channels
        let rowBytes = image.width * bpp, height = image.height
        let y0 = band * height / bands, y1 = (band + 1) * height / bands
        // The band filters its own rows; the row above its first is read, not written.
        var filtered = [UInt8](repeating: 0, count: (rowBytes + 1) * (y1 - y0))
        image.pixels.withUnsafeBufferPointer { px in
            filtered.withUnsafeMutableBufferPointer { f in
                for y in y0..<y1 {
                    let dst = f.baseAddress! + (y - y0) * (rowBytes + 1)
                    dst[0] = filter
                    let cur = px.baseAddress! + y * rowBytes
                    filterRow(filter, cur: cur, prev: y > 0 ? cur - rowBytes : nil, count: rowBytes, bpp: bpp, into: dst + 1)
                }
            }
        }
        var w = DeflateBitWriter()
        // Room for the worst case (15-bit literals), so appending never reallocates.
        w.bytes.reserveCapacity(filtered.count * 2 + 1024)
        filtered.withUnsafeBufferPointer { DeflateRLE.compress($0, final: band == bands - 1, runs: job.runs, into: &w) }
        w.alignToByte()   // the last band's final bits; other bands end aligned already
        let adler = filtered.withUnsafeBufferPointer { Checksum.adler32(contiguous: $0, adler: 1) }
        return Piece(bytes: w.bytes, adler: adler, crc: Checksum.crc32(w.bytes), rawLength: filtered.count)
    }

    /// One zlib stream from an image's bands, in a PNG.
    private static func assemble(_ job: FastImage, pieces: [Piece]) -> [UInt8] {
        // zlib header: deflate, 32 KiB window, "fastest" level hint.
        let header: [UInt8] = [0x78, 0x01]
        var adler: UInt32 = 1
        var crc = Checksum.crc32(header, crc: Checksum.crc32(Array("IDAT".utf8)))
        var length = header.count + 4
        for piece in pieces {
            adler = Checksum.adler32Combine(adler, piece.adler, length: piece.rawLength)
            crc = Checksum.crc32Combine(crc, piece.crc, length: piece.bytes.count)
            length += piece.bytes.count
        }
        let trailer: [UInt8] = [24, 16, 8, 0].map { UInt8((adler >> UInt32($0)) & 0xFF) }
        crc = Checksum.crc32(trailer, crc: crc)
        return container(job.image, type: job.type, palette: job.palette, alphas: nil,
                         idat: .pieces([header] + pieces.map(\.bytes) + [trailer], length: length, crc: crc))
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
    /// CRC-32 of A followed by B from crc(A), crc(B) and B's length (zlib's `crc32_combine`):
    /// the CRC is linear, so appending B's length in zero bytes to A multiplies A's remainder by
    /// x^(8·length) mod P, and B's own CRC adds on (the pre- and post-inversions cancel).
    static func crc32Combine(_ first: UInt32, _ second: UInt32, length: Int) -> UInt32 {
        // Polynomials are reflected, as the table CRC keeps them: bit 31 is x^0.
        func multiply(_ a: UInt32, _ b: UInt32) -> UInt32 {
            var product: UInt32 = 0, b = b, bit: UInt32 = 1 << 31
            while bit != 0 {
                if a & bit != 0 { product ^= b }
                b = b & 1 != 0 ? (b >> 1) ^ 0xEDB8_8320 : b >> 1
                bit >>= 1
            }
            return product
        }
        var shift: UInt32 = 1 << 31               // x^0
        var square: UInt32 = 1 << (31 - 8)        // x^8: one zero byte
        var n = max(length, 0)
        while n > 0 {
            if n & 1 != 0 { shift = multiply(shift, square) }
            square = multiply(square, square)
            n >>= 1
        }
        return multiply(shift, first) ^ second
    }


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
