/// An 8-bit image: `height` rows of `width` pixels, `channels` interleaved
/// samples per pixel (1 = gray or label, 3 = RGB, 4 = RGBA), row-major with no padding.
///
/// A value type: copies are cheap until written (copy-on-write `[UInt8]`).
package struct Image: Sendable, Equatable {
    package let width: Int
    package let height: Int
    package let channels: Int
    package var pixels: [UInt8]

    /// Wraps existing samples; `pixels.count` must equal `width * height * channels`.
    package init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws(ImagingError) {
        try Image.validate(width: width, height: height, channels: channels, format: "image")
        guard pixels.count == width * height * channels else {
            throw ImagingError(.invalidArgument, format: "image",
                               "\(pixels.count) samples for \(width)x\(height)x\(channels)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A new image with every sample set to `value`.
    package init(width: Int, height: Int, channels: Int, fill value: UInt8 = 0) throws(ImagingError) {
        try Image.validate(width: width, height: height, channels: channels, format: "image")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = [UInt8](repeating: value, count: width * height * channels)
    }

    /// For decoders that have already validated the geometry against `ImageLimits`.
    init(unchecked width: Int, _ height: Int, _ channels: Int, _ pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Sample `c` of pixel (`x`, `y`); the caller keeps indices in range.
    package subscript(x: Int, y: Int, c: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    static func validate(width: Int, height: Int, channels: Int, format: String,
                         limits: ImageLimits = .default) throws(ImagingError) {
        guard channels == 1 || channels == 3 || channels == 4 else {
            throw ImagingError(.invalidArgument, format: format, "channels must be 1, 3 or 4, not \(channels)")
        }
        try limits.check(width: width, height: height, format: format)
    }
}

/// A 16-bit image, as PNG can store it. Same layout rules as `Image`.
package struct Image16: Sendable, Equatable {
    package let width: Int
    package let height: Int
    package let channels: Int
    package var samples: [UInt16]

    package init(width: Int, height: Int, channels: Int, samples: [UInt16]) throws(ImagingError) {
        try Image.validate(width: width, height: height, channels: channels, format: "image")
        guard samples.count == width * height * channels else {
            throw ImagingError(.invalidArgument, format: "image",
                               "\(samples.count) samples for \(width)x\(height)x\(channels)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.samples = samples
    }

    init(unchecked width: Int, _ height: Int, _ channels: Int, _ samples: [UInt16]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.samples = samples
    }

    /// The 8-bit image holding the high byte of every sample (what PIL does for
    /// 16-bit RGB PNGs and what PNG viewers display).
    package func to8Bit() -> Image {
        Image(unchecked: width, height, channels, samples.map { UInt8($0 >> 8) })
    }
}

/// Limits checked before any pixel buffer is allocated, so a 100000x100000
/// header costs an error, not 30 GB.
package struct ImageLimits: Sendable, Equatable {
    package var maxWidth: Int
    package var maxHeight: Int
    package var maxPixels: Int

    package init(maxWidth: Int = 32768, maxHeight: Int = 32768, maxPixels: Int = 1 << 26) {
        self.maxWidth = maxWidth
        self.maxHeight = maxHeight
        self.maxPixels = maxPixels
    }

    /// 32768 per side and 64 Mpixel (8192x8192): far above any segmentation
    /// input, and a JPEG that size needs about 1 GB of working memory at 4:4:4
    /// (coefficients, planes, output), which the daemon survives.
    package static let `default` = ImageLimits()

    func check(width: Int, height: Int, format: String, context: String? = nil,
               offset: Int? = nil) throws(ImagingError) {
        guard width > 0, height > 0 else {
            throw ImagingError(.corrupt, format: format, context: context, offset: offset,
                               "image size \(width)x\(height) is empty")
        }
        guard width <= maxWidth, height <= maxHeight, width.multipliedReportingOverflow(by: height).partialValue <= maxPixels else {
            throw ImagingError(.tooLarge, format: format, context: context, offset: offset,
                               "image size \(width)x\(height) exceeds the limit (\(maxWidth)x\(maxHeight), \(maxPixels) pixels)")
        }
    }
}
