import Testing
@testable import SegTensor

@Suite struct ShapeTests {
    @Test func elementCountAndStrides() throws {
        let shape = try Shape([2, 3, 4])
        #expect(shape.elementCount == 24)
        #expect(shape.strides == [12, 4, 1])
        #expect(try Shape([]).elementCount == 1)
        #expect(try Shape([5, 0, 7]).elementCount == 0)
        #expect(try Shape([2, 3]).byteCount(for: .f64) == 48)
    }

    @Test func rejectsNegativeAndOverflowingDims() throws {
        #expect(throws: TensorError.negativeDimension(dims: [2, -1])) { try Shape([2, -1]) }
        #expect(throws: TensorError.elementCountOverflow(dims: [1 << 32, 1 << 32])) { try Shape([1 << 32, 1 << 32]) }
        // The element count fits but the byte count does not.
        #expect(throws: TensorError.elementCountOverflow(dims: [1 << 62])) {
            try Shape([1 << 62]).byteCount(for: .f32)
        }
        // A zero anywhere makes an otherwise overflowing shape empty, as numpy treats it.
        #expect(try Shape([1 << 40, 1 << 40, 0]).elementCount == 0)
    }
}

@Suite struct TensorTests {
    @Test func typedAccessChecksDType() throws {
        let tensor = try Tensor(dims: [3], scalars: [1, 2, 3] as [Float])
        #expect(tensor.byteCount == 12)
        #expect(throws: TensorError.dtypeMismatch(expected: .i32, actual: .f32)) {
            try tensor.scalars(as: Int32.self)
        }
        let sum = try tensor.withUnsafeBufferPointer(as: Float.self) { $0.reduce(0, +) }
        #expect(sum == 6)
    }

    @Test func copyOnWrite() throws {
        let original = try Tensor(dims: [2], scalars: [1, 2] as [Int64])
        var copy = original
        try copy.withUnsafeMutableBufferPointer(as: Int64.self) { $0[0] = 99 }
        #expect(try original.scalars(as: Int64.self) == [1, 2])
        #expect(try copy.scalars(as: Int64.self) == [99, 2])
    }

    @Test func byteCountMustMatch() {
        #expect(throws: TensorError.byteCountMismatch(dtype: .f32, dims: [2], expected: 8, actual: 7)) {
            try Tensor(dtype: .f32, shape: Shape([2]), bytes: [UInt8](repeating: 0, count: 7))
        }
        #expect(throws: TensorError.invalidBool(byteOffset: 1)) {
            try Tensor(dtype: .bool, shape: Shape([2]), bytes: [1, 7])
        }
    }

    @Test func zerosRefusesAbsurdSizes() throws {
        #expect(try Tensor(zeros: .f16, shape: Shape([2, 2])).bytes == [UInt8](repeating: 0, count: 8))
        #expect(throws: TensorError.tooLarge(dims: [1 << 40], byteCount: 1 << 42)) {
            try Tensor(zeros: .f32, shape: Shape([1 << 40]))
        }
    }

    @Test func reshape() throws {
        let tensor = try Tensor(dims: [2, 3], scalars: [0, 1, 2, 3, 4, 5] as [UInt8])
        #expect(try tensor.reshaped(to: Shape([3, 2])).dims == [3, 2])
        #expect(throws: TensorError.reshapeMismatch(from: [2, 3], to: [4])) {
            try tensor.reshaped(to: Shape([4]))
        }
    }

    @Test func conversions() throws {
        let ints = try Tensor(dims: [3], scalars: [-3, 0, 200] as [Int16])
        #expect(try ints.converted(to: .f32).scalars(as: Float.self) == [-3, 0, 200])
        let floats = try Tensor(dims: [2], scalars: [1.5, -0.1] as [Float])
        let halves = try floats.converted(to: .f16)
        #expect(try halves.scalars(as: Half.self).map(\.bitPattern) == [0x3E00, 0xAE66])
        #expect(try halves.converted(to: .f32).scalars(as: Float.self) == [1.5, -0.0999755859375])
        #expect(throws: TensorError.unsupportedConversion(from: .f32, to: .i8)) { try floats.converted(to: .i8) }
    }
}
