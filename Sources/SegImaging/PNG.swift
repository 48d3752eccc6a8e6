/// PNG (ISO/IEC 15948) decoding and encoding.
///
/// Decoding accepts every colour type and bit depth, palettes with tRNS,
/// Adam7 interlacing and all five filters; CRCs are verified. `decode` gives
/// an 8-bit `Image` with these documented conversions:
/// - gray 1/2/4-bit is scaled to 0...255 (×255, ×85, ×17), like Pillow's "L";
/// - 16-bit samples keep their high byte (as Pillow does for 16-bit RGB);
/// - gray+alpha becomes RGBA (`Image` has no two-channel layout);
/// - palette images expand to RGB, or RGBA when a tRNS chunk is present,
///   unless `DecodeOptions.paletteIndices` asks for the raw indices (labels).
/// tRNS on gray/RGB images (a single transparent colour) is reported in
/// `Info.transparency` but not applied, as Pillow's `open().convert("RGB")`.
package enum PNG {
    package enum ColorType: UInt8, Sendable {
        case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6

        /// Samples per pixel as stored in the file.
        package var samplesPerPixel: Int {
            switch self {
            case .gray, .palette: 1
            case .grayAlpha: 2
            case .rgb: 3
            case .rgba: 4
            }
        }
    }

    package struct Info: Sendable, Equatable {
        package var width: Int
        package var height: Int
        package var bitDepth: Int
        package var colorType: ColorType
        package var interlaced: Bool
        /// PLTE entries, if any.
        package var palette: [RGB]?
        /// Raw tRNS payload: palette alphas, or the transparent gray/RGB value (16-bit big-endian each).
        package var transparency: [UInt8]?
    }

    package struct DecodeOptions: Sendable, Equatable {
        /// Return palette images as one channel of indices instead of colours.
        package var paletteIndices: Bool
        package var limits: ImageLimits

        package init(paletteIndices: Bool = false, limits: ImageLimits = .default) {
            self.paletteIndices = paletteIndices
            self.limits = limits
        }
    }

    /// Header and ancillary information without decompressing the pixels.
    package static func readInfo(_ bytes: [UInt8], limits: ImageLimits = .default) throws(ImagingError) -> Info {
        try PNGParser(bytes, limits: limits, wantPixels: false).info
    }

    /// Decodes to 8 bits per sample (see the type's documentation for conversions).
    package static func decode(_ bytes: [UInt8], options: DecodeOptions = .init()) throws(ImagingError) -> Image {
        try decodeWithInfo(bytes, options: options).image
    }

    package static func decodeWithInfo(_ bytes: [UInt8], options: DecodeOptions = .init()) throws(ImagingError)
        -> (image: Image, info: Info) {
        let parser = try PNGParser(bytes, limits: options.limits, wantPixels: true)
        let raw = try parser.inflatedScanlines()
        let image = try PNGPixels(info: parser.info).image8(raw, paletteIndices: options.paletteIndices)
        return (image, parser.info)
    }

    /// Decodes keeping 16-bit precision. 8-bit and lower depths are scaled to
    /// 0...65535 (palette colours ×257); channel conversions as in `decode`.
    package static func decode16(_ bytes: [UInt8], options: DecodeOptions = .init()) throws(ImagingError) -> Image16 {
        let parser = try PNGParser(bytes, limits: options.limits, wantPixels: true)
        let raw = try parser.inflatedScanlines()
        return try PNGPixels(info: parser.info).image16(raw)
    }
}

/// An 8-bit RGB colour (palettes, overlays).
package struct RGB: Sendable, Equatable, Hashable {
    package var r: UInt8
    package var g: UInt8
    package var b: UInt8

    package init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
}
