/// JPEG (ITU T.81 / JFIF) decoding: baseline, extended and progressive
/// Huffman-coded, 8-bit, one (gray) or three (YCbCr or RGB) components, any
/// integral sampling factors, restart markers, EXIF orientation.
///
/// The pixels aim to equal Pillow's (libjpeg-turbo's default decode): the
/// integer "islow" IDCT, "fancy" triangular upsampling for h2v1, h2v2 and h1v2
/// chroma (box replication for other integral ratios), and libjpeg's
/// fixed-point YCbCr→RGB tables. Four-component (CMYK/YCCK), arithmetic-coded,
/// lossless, hierarchical and 12-bit files are rejected as unsupported.
package enum JPEG {
    package struct Info: Sendable, Equatable {
        package var width: Int
        package var height: Int
        /// 1 (grayscale) or 3.
        package var components: Int
        package var progressive: Bool
        /// Per component (horizontal, vertical) sampling factors, e.g. 4:2:0 = [(2,2),(1,1),(1,1)].
        package var sampling: [Sampling]
        /// EXIF orientation (1 when absent or unreadable).
        package var orientation: Orientation
        package var restartInterval: Int
    }

    package struct Sampling: Sendable, Equatable {
        package var h: Int
        package var v: Int
    }

    package struct DecodeOptions: Sendable, Equatable {
        /// Rotate/flip by the EXIF orientation, as PIL's `ImageOps.exif_transpose`.
        /// Off by default because `Image.open(...).convert("RGB")` does not.
        package var applyOrientation: Bool
        package var limits: ImageLimits
        /// 2 (the default): images of 64K samples and more are decoded on two threads (a helper
        /// runs the IDCT a row behind the entropy decoding; colours are converted in two bands).
        /// 1: all on the calling thread. The pixels are the same either way.
        package var threads: Int
        /// Samples (all components) from which two threads are used: below it the hand-off
        /// costs more than the half of the work it moves. Tests lower it to reach small files.
        package var parallelMinimumSamples: Int

        package init(applyOrientation: Bool = false, limits: ImageLimits = .default, threads: Int = 2,
                     parallelMinimumSamples: Int = 64 * 1024) {
            self.applyOrientation = applyOrientation
            self.limits = limits
            self.threads = threads
            self.parallelMinimumSamples = parallelMinimumSamples
        }
    }

    /// Decodes to gray (1 channel) or RGB (3 channels).
    package static func decode(_ bytes: [UInt8], options: DecodeOptions = .init()) throws(ImagingError) -> Image {
        try decodeWithInfo(bytes, options: options).image
    }

    package static func decodeWithInfo(_ bytes: [UInt8], options: DecodeOptions = .init()) throws(ImagingError)
        -> (image: Image, info: Info) {
        var decoder = JPEGDecoder(bytes, limits: options.limits, threads: options.threads,
                                  parallelMinimumSamples: options.parallelMinimumSamples)
        try decoder.run(headerOnly: false)
        let image = try decoder.outputImage()
        let info = try decoder.info()
        if options.applyOrientation { return (image.oriented(info.orientation), info) }
        return (image, info)
    }

    /// Header information (size, components, sampling, orientation) without decoding scans.
    package static func readInfo(_ bytes: [UInt8], limits: ImageLimits = .default) throws(ImagingError) -> Info {
        var decoder = JPEGDecoder(bytes, limits: limits)
        try decoder.run(headerOnly: true)
        return try decoder.info()
    }
}
