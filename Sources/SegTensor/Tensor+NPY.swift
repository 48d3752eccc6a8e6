import Foundation

/// `.npy` (NumPy array file) reading and writing.
///
/// Format: magic `\x93NUMPY`, major/minor version, header length (u16 for v1, u32 for v2/v3),
/// a Python-literal header dict (latin-1 for v1/v2, UTF-8 for v3), then the raw elements.
/// Only little-endian (or single-byte) C-order arrays of the `DType` element types are
/// accepted; Fortran order and big-endian data are refused rather than silently transposed or
/// byte-swapped.
extension Tensor {
    private static let npyMagic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Reads a `.npy` file. `file` only labels errors.
    public init(npyBytes data: [UInt8], file: String = "<npy>") throws(TensorError) {
        func fail(_ field: String, _ message: String) -> TensorError { .npy(file: file, field: field, message: message) }

        guard data.count >= 10, Array(data[0..<6]) == Tensor.npyMagic else {
            throw fail("magic", "not an .npy file (missing \\x93NUMPY magic)")
        }
        let major = data[6]
        let headerStart: Int
        let headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(data[8]) | Int(data[9]) << 8
        case 2, 3:
            guard data.count >= 12 else { throw fail("header length", "file ends inside the header length") }
            headerStart = 12
            headerLength = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
        default:
            throw fail("version", "unsupported format version \(major).\(data[7])")
        }
        guard headerLength <= data.count - headerStart else {
            throw fail("header", "header of \(headerLength) bytes runs past the end of the \(data.count)-byte file")
        }
        let headerBytes = data[headerStart..<(headerStart + headerLength)]
        let text: String
        if major == 3 {
            guard let utf8 = String(validating: headerBytes, as: UTF8.self) else {
                throw fail("header", "header is not valid UTF-8")
            }
            text = utf8
        } else {
            text = String(headerBytes.map { Character(Unicode.Scalar($0)) })  // latin-1
        }
        let header = try NPYHeader.parse(text, file: file)

        let dtype = try Tensor.dtype(fromDescr: header.descr, file: file)
        let shape: Shape
        do { shape = try Shape(header.shape) } catch {
            throw fail("shape", error.description)
        }
        // A 0- or 1-element array, or rank ≤ 1, is laid out identically in both orders.
        let nonTrivialAxes = header.shape.filter { $0 != 1 }.count
        if header.fortranOrder && nonTrivialAxes > 1 {
            throw fail("fortran_order", "Fortran-order (column-major) arrays are not supported; save with np.ascontiguousarray")
        }
        let byteCount: Int
        do { byteCount = try shape.byteCount(for: dtype) } catch { throw fail("shape", error.description) }
        let dataStart = headerStart + headerLength
        let available = data.count - dataStart
        guard available == byteCount else {
            let what = available < byteCount ? "truncated" : "has trailing bytes"
            throw fail("data", "\(what): shape \(header.shape) of \(dtype) needs \(byteCount) bytes, file has \(available) after the header")
        }
        do {
            try self.init(dtype: dtype, shape: shape, bytes: Array(data[dataStart...]))
        } catch {
            throw fail("data", error.description)
        }
    }

    public init(contentsOfNPY url: URL) throws(TensorError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .io(path: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        try self.init(npyBytes: [UInt8](data), file: url.path)
    }

    /// The bytes `numpy.save` writes for this array (format 1.0 unless the header needs 2.0).
    public func npyBytes() -> [UInt8] {
        let header = NPYHeader(descr: Tensor.descr(for: dtype), fortranOrder: false, shape: shape.dims)
        let text = Array(header.text.utf8)  // ASCII only
        // Pad (spaces, then '\n') so the data starts on a 64-byte boundary, exactly as numpy.
        func wrapped(prefixLength: Int) -> Int {
            let length = text.count + 1
            return length + 64 - ((6 + 2 + prefixLength + length) % 64)
        }
        var total = wrapped(prefixLength: 2)
        var out = Tensor.npyMagic
        if total <= Int(UInt16.max) {
            out += [1, 0, UInt8(total & 0xFF), UInt8(total >> 8)]
        } else {
            total = wrapped(prefixLength: 4)
            out += [2, 0] + withUnsafeBytes(of: UInt32(total).littleEndian) { Array($0) }
        }
        out += text
        out += [UInt8](repeating: 0x20, count: total - text.count - 1)
        out.append(0x0A)
        out += bytes
        return out
    }

    public func writeNPY(to url: URL) throws(TensorError) {
        do { try Data(npyBytes()).write(to: url, options: .atomic) } catch {
            throw .io(path: url.path, message: "cannot write: \(error.localizedDescription)")
        }
    }

    // MARK: - descr strings

    static func descr(for dtype: DType) -> String {
        switch dtype {
        case .f16: "<f2"
        case .f32: "<f4"
        case .f64: "<f8"
        case .i8: "|i1"
        case .u8: "|u1"
        case .bool: "|b1"
        case .i16: "<i2"
        case .u16: "<u2"
        case .i32: "<i4"
        case .u32: "<u4"
        case .i64: "<i8"
        case .u64: "<u8"
        }
    }

    static func dtype(fromDescr descr: String, file: String) throws(TensorError) -> DType {
        guard let order = descr.first else {
            throw .npy(file: file, field: "descr", message: "empty dtype description")
        }
        let code = String(descr.dropFirst())
        guard let dtype = DType.allCases.first(where: { Tensor.descr(for: $0).dropFirst() == code }) else {
            throw .npy(file: file, field: "descr", message: "dtype '\(descr)' is not supported")
        }
        switch order {
        case "<", "=", "|":
            return dtype  // '=' is native, which is little-endian on every supported host
        case ">" where dtype.byteSize == 1:
            return dtype
        case ">":
            throw .npy(file: file, field: "descr", message: "big-endian dtype '\(descr)' is not supported; convert with arr.astype('<\(code)')")
        default:
            throw .npy(file: file, field: "descr", message: "dtype '\(descr)' has an unknown byte-order mark")
        }
    }
}
