import Foundation

/// Format sniffing and file-level loading; errors name the file.
package enum ImageFormat: String, Sendable, Equatable {
    case png, jpeg

    /// The format from the leading bytes (not the file extension, which lies).
    package static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
        if bytes.starts(with: PNGParser.signature) { return .png }
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        return nil
    }
}

package enum ImageIO {
    /// Files larger than this are refused before reading (compressed images that
    /// big would exceed the pixel limits anyway).
    package static let maxFileBytes = 512 << 20

    /// Decodes PNG or JPEG bytes to 8-bit gray, RGB or RGBA, the way Pillow's
    /// `Image.open(...).convert(...)` would see them (no EXIF rotation unless asked).
    package static func decode(_ bytes: [UInt8], applyOrientation: Bool = false,
                              limits: ImageLimits = .default) throws(ImagingError) -> Image {
        switch ImageFormat.sniff(bytes) {
        case .png: return try PNG.decode(bytes, options: .init(limits: limits))
        case .jpeg: return try JPEG.decode(bytes, options: .init(applyOrientation: applyOrientation, limits: limits))
        case nil: throw ImagingError(.unsupported, format: "image", offset: 0, "not a PNG or JPEG file")
        }
    }

    /// A label map exactly as `np.asarray(Image.open(path))` (PaddleSeg's label
    /// loading) gives it: palette PNGs as indices, 8-bit gray as values, 16-bit
    /// gray as values (which must fit in 8 bits), 1-bit gray as 0/1, and 2/4-bit
    /// gray scaled to 0...255 as Pillow does. Colour images are refused: they are
    /// pictures, not labels.
    package static func decodeLabel(_ bytes: [UInt8], limits: ImageLimits = .default) throws(ImagingError) -> Image {
        guard ImageFormat.sniff(bytes) == .png else {
            throw ImagingError(.unsupported, format: "label", offset: 0, "label maps must be PNG (JPEG would blur class ids)")
        }
        let info = try PNG.readInfo(bytes, limits: limits)
        switch info.colorType {
        case .palette:
            return try PNG.decode(bytes, options: .init(paletteIndices: true, limits: limits))
        case .gray where info.bitDepth == 16:
            let wide = try PNG.decode16(bytes, options: .init(limits: limits))
            if let big = wide.samples.first(where: { $0 > 255 }) {
                throw ImagingError(.unsupported, format: "label", "16-bit label value \(big) does not fit in 8 bits")
            }
            return Image(unchecked: wide.width, wide.height, 1, wide.samples.map { UInt8($0) })
        case .gray where info.bitDepth == 1:
            // Pillow opens 1-bit gray as mode "1", which numpy sees as 0/1.
            let image = try PNG.decode(bytes, options: .init(limits: limits))
            return Image(unchecked: image.width, image.height, 1, image.pixels.map { $0 == 0 ? 0 : 1 })
        case .gray:
            return try PNG.decode(bytes, options: .init(limits: limits))
        default:
            throw ImagingError(.unsupported, format: "label", "a label map needs one channel; this PNG is colour type \(info.colorType.rawValue)")
        }
    }

    package static func load(path: String, applyOrientation: Bool = false,
                            limits: ImageLimits = .default) throws(ImagingError) -> Image {
        let bytes = try read(path)
        do {
            return try decode(bytes, applyOrientation: applyOrientation, limits: limits)
        } catch {
            throw error.inFile(path)
        }
    }

    package static func loadLabel(path: String, limits: ImageLimits = .default) throws(ImagingError) -> Image {
        let bytes = try read(path)
        do {
            return try decodeLabel(bytes, limits: limits)
        } catch {
            throw error.inFile(path)
        }
    }

    /// The file's bytes, read with one open, fstat and read (Foundation's attributes lookup
    /// also resolved the owner's name, a tenth of a millisecond on a segment request's path).
    package static func read(_ path: String) throws(ImagingError) -> [UInt8] {
        func failure(_ what: String, _ code: Int32) -> ImagingError {
            ImagingError(.io, format: "file", "\(what): \(String(cString: strerror(code)))", file: path)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot read", errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("cannot read", errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ImagingError(.io, format: "file", "cannot read: not a regular file", file: path)
        }
        let size = Int(info.st_size)
        guard size <= maxFileBytes else {
            throw ImagingError(.tooLarge, format: "file", "\(size) bytes exceeds the \(maxFileBytes)-byte limit", file: path)
        }
        var readError: Int32 = 0
        // A file that shrinks meanwhile gives what it still has; one that grows, its first `size` bytes.
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let n = Glibc.read(fd, buffer.baseAddress! + count, size - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    readError = errno
                    return
                }
                if n == 0 { break }
                count += n
            }
        }
        guard readError == 0 else { throw failure("cannot read", readError) }
        return bytes
    }

    package static func write(_ bytes: [UInt8], to path: String) throws(ImagingError) {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ImagingError(.io, format: "file", "cannot write: \(error.localizedDescription)", file: path)
        }
    }
}
