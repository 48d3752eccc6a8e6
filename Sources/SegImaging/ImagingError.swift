/// A decode or encode failure with enough context for a user to act on it:
/// the format, the chunk or marker at fault, the byte offset, and (when the
/// caller loaded from disk) the file name.
///
/// Every failure in SegImaging is one of these; nothing derived from file bytes
/// may trap, so a corrupt upload produces an error and the daemon keeps serving.
package struct ImagingError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable, Equatable {
        /// The data ends before the format says it should.
        case truncated
        /// The bytes contradict the format (bad code, bad length, bad marker).
        case corrupt
        /// A checksum (CRC-32, Adler-32) does not match.
        case checksum
        /// Valid for the format but outside what SegImaging implements.
        case unsupported
        /// Dimensions or sizes beyond the configured limits (checked before allocating).
        case tooLarge
        /// A caller passed inconsistent arguments (API misuse, not file content).
        case invalidArgument
        /// The file could not be read or written.
        case io
    }

    package var kind: Kind
    /// "PNG", "JPEG", "zlib", "deflate", "image", ...
    package var format: String
    /// The chunk ("IDAT"), marker ("SOF2") or structure the problem was found in.
    package var context: String?
    /// Byte offset in the input where the problem was found, when known.
    package var offset: Int?
    package var message: String
    /// File path, filled in by the file-level loaders.
    package var file: String?

    package init(_ kind: Kind, format: String, context: String? = nil, offset: Int? = nil,
                _ message: String, file: String? = nil) {
        self.kind = kind
        self.format = format
        self.context = context
        self.offset = offset
        self.message = message
        self.file = file
    }

    package var description: String {
        var s = ""
        if let file { s += "\(file): " }
        s += format
        if let context { s += " \(context)" }
        if let offset { s += " at byte \(offset)" }
        s += ": \(message) [\(kind.rawValue)]"
        return s
    }

    /// The same error, attributed to a file.
    package func inFile(_ path: String) -> ImagingError {
        var e = self
        e.file = path
        return e
    }
}
