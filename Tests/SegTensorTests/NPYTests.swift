import Foundation
import Testing
@testable import SegTensor

@Suite("npy read/write against numpy-written files")
struct NPYTests {
    private func check<T: TensorScalar>(_ tensor: Tensor, _ expected: any Sendable, as _: T.Type) throws {
        let values = try #require(expected as? [T])
        #expect(try tensor.scalars(as: T.self) == values)
    }

    @Test("every numpy fixture reads with the right dtype, shape and values",
          arguments: NPYFixtures.readable.map { $0.0.name })
    func readsNumpyFiles(name: String) throws {
        let (entry, dtypeName, dims, values) = try #require(NPYFixtures.readable.first { $0.0.name == name })
        let tensor = try Tensor(npyBytes: entry.bytes, file: name)
        #expect(tensor.dtype.rawValue == dtypeName)
        #expect(tensor.dims == dims)
        switch tensor.dtype {
        case .f32: try check(tensor, values, as: Float.self)
        case .f16: try check(tensor, values, as: Half.self)
        case .f64: try check(tensor, values, as: Double.self)
        case .i8: try check(tensor, values, as: Int8.self)
        case .u8: try check(tensor, values, as: UInt8.self)
        case .i16: try check(tensor, values, as: Int16.self)
        case .u16: try check(tensor, values, as: UInt16.self)
        case .i32: try check(tensor, values, as: Int32.self)
        case .u32: try check(tensor, values, as: UInt32.self)
        case .i64: try check(tensor, values, as: Int64.self)
        case .u64: try check(tensor, values, as: UInt64.self)
        case .bool: try check(tensor, values, as: Bool.self)
        }
    }

    @Test("writing reproduces numpy.save byte for byte (v1 files)",
          arguments: NPYFixtures.readable.map { $0.0 }.filter { !$0.name.hasPrefix("v2") && !$0.name.hasPrefix("v3") }.map(\.name))
    func writesLikeNumpy(name: String) throws {
        let entry = try #require(NPYFixtures.readable.first { $0.0.name == name }?.0)
        let tensor = try Tensor(npyBytes: entry.bytes, file: name)
        #expect(tensor.npyBytes() == entry.bytes)
    }

    @Test func fileRoundTrip() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("segtensor-\(UUID().uuidString).npy")
        defer { try? FileManager.default.removeItem(at: url) }
        let tensor = try Tensor(dims: [2, 2], scalars: [1, -2, 3, -4] as [Int32])
        try tensor.writeNPY(to: url)
        #expect(try Tensor(contentsOfNPY: url) == tensor)
    }

    // MARK: - Refusals

    private func npyError(_ bytes: [UInt8]) -> TensorError? {
        do {
            _ = try Tensor(npyBytes: bytes, file: "bad.npy")
            return nil
        } catch {
            return error
        }
    }

    private func expectField(_ bytes: [UInt8], _ field: String, containing text: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .npy(let file, let actualField, let message)? = npyError(bytes) else {
            Issue.record("expected an npy error, got \(String(describing: npyError(bytes)))", sourceLocation: sourceLocation)
            return
        }
        #expect(file == "bad.npy", sourceLocation: sourceLocation)
        #expect(actualField == field, sourceLocation: sourceLocation)
        #expect(message.contains(text), "\(message)", sourceLocation: sourceLocation)
    }

    @Test func refusesFortranOrder() {
        expectField(NPYFixtures.fortran_f32.bytes, "fortran_order", containing: "Fortran")
    }

    @Test func refusesBigEndian() {
        expectField(NPYFixtures.bigendian_f32.bytes, "descr", containing: "big-endian")
    }

    @Test func refusesUnsupportedDtypes() {
        expectField(NPYFixtures.complex64.bytes, "descr", containing: "'<c8' is not supported")
        expectField(NPYFixtures.structured.bytes, "descr", containing: "structured")
    }

    @Test("every truncation of a valid file is an error, never a crash")
    func truncation() {
        let bytes = NPYFixtures.typed_i64.bytes
        for length in 0..<bytes.count {
            #expect(npyError(Array(bytes[..<length])) != nil, "length \(length)")
        }
        expectField(Array(bytes.dropLast()), "data", containing: "truncated")
        expectField(bytes + [0], "data", containing: "trailing")
        expectField(Array(bytes[..<20]), "header", containing: "past the end")
        expectField([1, 2, 3], "magic", containing: "magic")
    }

    @Test func refusesBadHeaders() {
        func file(_ header: String, version: UInt8 = 1) -> [UInt8] {
            let text = Array(header.utf8)
            return [0x93] + Array("NUMPY".utf8) + [version, 0, UInt8(text.count), 0] + text
        }
        expectField(file("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "shape", containing: "negative")
        expectField(file("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"), "shape", containing: "64-bit")
        expectField(file("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"), "header", containing: "out of range")
        expectField(file("{'descr': '<f4', 'shape': (1,), }"), "header", containing: "missing key 'fortran_order'")
        expectField(file("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }"), "fortran_order", containing: "True or False")
        expectField(file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}"), "header", containing: "unexpected keys")
        expectField(file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)"), "header", containing: "expected '}'")
        expectField(file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", version: 9), "version", containing: "9.0")
        // A bool array whose byte is not 0/1 would be an invalid Swift Bool.
        expectField(file("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }") + [2], "data", containing: "0 or 1")
    }

    @Test func missingFileIsIOError() {
        let url = URL(fileURLWithPath: "/nonexistent/segslim/x.npy")
        #expect {
            try Tensor(contentsOfNPY: url)
        } throws: { error in
            guard case .io(let path, _) = error as? TensorError else { return false }
            return path == url.path
        }
    }
}
