#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SegGraph
import SegTensor

// MARK: - Compute types

/// The floating-point types neural-network kernels compute in: `Float` for f32 and f16 (f16
/// ops compute in f32 and round once, like ORT's CPU path), `Double` for f64.
protocol NNFloat: BinaryFloatingPoint, TensorScalar {
    static func nnPow(_ x: Self, _ y: Self) -> Self
    static func nnExp(_ x: Self) -> Self
}

extension Float: NNFloat {
    static func nnPow(_ x: Float, _ y: Float) -> Float { pow(x, y) }
    static func nnExp(_ x: Float) -> Float { exp(x) }
}

extension Double: NNFloat {
    static func nnPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
    static func nnExp(_ x: Double) -> Double { exp(x) }
}

/// Multiply-accumulate for the convolution and matrix kernels: IEEE for floats, wrapping
/// (two's complement, like C++) for the integer paths, so a hostile model cannot trap.
protocol NNMulAdd: TensorScalar {
    static var zero: Self { get }
    static func nnMulAdd(_ acc: Self, _ a: Self, _ b: Self) -> Self
    static var one: Self { get }
}

extension NNMulAdd {
    @inline(__always) static func nnMul(_ a: Self, _ b: Self) -> Self { nnMulAdd(zero, a, b) }
}

extension Float: NNMulAdd {
    static var one: Float { 1 }
    @inline(__always) static func nnMulAdd(_ acc: Float, _ a: Float, _ b: Float) -> Float { acc + a * b }
}

extension Double: NNMulAdd {
    static var one: Double { 1 }
    @inline(__always) static func nnMulAdd(_ acc: Double, _ a: Double, _ b: Double) -> Double { acc + a * b }
}

extension Int32: NNMulAdd {
    static var one: Int32 { 1 }
    @inline(__always) static func nnMulAdd(_ acc: Int32, _ a: Int32, _ b: Int32) -> Int32 { acc &+ a &* b }
}

extension Int64: NNMulAdd {
    static var one: Int64 { 1 }
    @inline(__always) static func nnMulAdd(_ acc: Int64, _ a: Int64, _ b: Int64) -> Int64 { acc &+ a &* b }
}

extension UInt64: NNMulAdd {
    static var one: UInt64 { 1 }
    @inline(__always) static func nnMulAdd(_ acc: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 { acc &+ a &* b }
}

/// A computation over same-typed numeric arrays, generic over the compute type, so that
/// one body serves every dtype (`NN.numeric` picks the type).
protocol NNNumericKernel {
    func run<T: NNMulAdd>(_ inputs: [[T]]) throws -> [T]
}

// MARK: - Tensor ⇄ arrays

enum NN {
    /// The elements of a floating-point tensor as `F` (f16 widened exactly).
    static func floats<F: NNFloat>(_ t: Tensor, input index: Int, as _: F.Type = F.self) throws -> [F] {
        switch t.dtype {
        case .f32:
            let a = try t.scalars(as: Float.self)
            return (a as? [F]) ?? a.map { F($0) }
        case .f64:
            let a = try t.scalars(as: Double.self)
            return (a as? [F]) ?? a.map { F($0) }
        case .f16:
            return try t.scalars(as: Half.self).map { F($0.floatValue) }
        default:
            throw OpError.input(index, "expected a floating-point tensor, got \(t.dtype)")
        }
    }

    /// A tensor of `dtype` (f16, f32 or f64) from computed values, rounding once.
    static func tensor<F: NNFloat>(_ values: [F], dims: [Int], dtype: DType) throws -> Tensor {
        let shape = try Shape(dims)
        switch dtype {
        case .f32: return try Tensor(shape: shape, scalars: (values as? [Float]) ?? values.map { Float($0) })
        case .f64: return try Tensor(shape: shape, scalars: (values as? [Double]) ?? values.map { Double($0) })
        case .f16: return try Tensor(shape: shape, scalars: values.map { Half(Float($0)) })
        default: throw OpError.unsupported("output dtype \(dtype)")
        }
    }

    /// Runs `kernel` on the tensors (all of one dtype) in their compute type: f16 in f32,
    /// u32 in wrapping u64 (truncating back gives u32's wrapping result), others as stored.
    static func numeric<K: NNNumericKernel>(_ kernel: K, _ tensors: [Tensor], dims: [Int]) throws -> Tensor {
        guard let dtype = tensors.first?.dtype else { throw OpError.other("no inputs") }
        for (i, t) in tensors.enumerated() where t.dtype != dtype {
            throw OpError.input(i, "is \(t.dtype), input 0 is \(dtype)")
        }
        let shape = try Shape(dims)
        switch dtype {
        case .f32: return try Tensor(shape: shape, scalars: try kernel.run(try tensors.map { try $0.scalars(as: Float.self) }))
        case .f64: return try Tensor(shape: shape, scalars: try kernel.run(try tensors.map { try $0.scalars(as: Double.self) }))
        case .f16:
            let out: [Float] = try kernel.run(try tensors.map { try $0.scalars(as: Half.self).map(\.floatValue) })
            return try Tensor(shape: shape, scalars: out.map { Half($0) })
        case .i32: return try Tensor(shape: shape, scalars: try kernel.run(try tensors.map { try $0.scalars(as: Int32.self) }))
        case .i64: return try Tensor(shape: shape, scalars: try kernel.run(try tensors.map { try $0.scalars(as: Int64.self) }))
        case .u64: return try Tensor(shape: shape, scalars: try kernel.run(try tensors.map { try $0.scalars(as: UInt64.self) }))
        case .u32:
            let out: [UInt64] = try kernel.run(try tensors.map { try $0.scalars(as: UInt32.self).map { UInt64($0) } })
            return try Tensor(shape: shape, scalars: out.map { UInt32(truncatingIfNeeded: $0) })
        default:
            throw OpError.input(0, "dtype \(dtype) is not supported")
        }
    }

    static func isFloat(_ dtype: DType) -> Bool { dtype == .f32 || dtype == .f16 || dtype == .f64 }

    /// Elements of an integer tensor widened to Int64 (for zero points and index-like inputs).
    static func integers(_ t: Tensor, input index: Int) throws -> [Int64] {
        switch t.dtype {
        case .i8: return try t.scalars(as: Int8.self).map { Int64($0) }
        case .u8: return try t.scalars(as: UInt8.self).map { Int64($0) }
        case .i16: return try t.scalars(as: Int16.self).map { Int64($0) }
        case .u16: return try t.scalars(as: UInt16.self).map { Int64($0) }
        case .i32: return try t.scalars(as: Int32.self).map { Int64($0) }
        case .u32: return try t.scalars(as: UInt32.self).map { Int64($0) }
        case .i64: return try t.scalars(as: Int64.self)
        default: throw OpError.input(index, "expected an integer tensor, got \(t.dtype)")
        }
    }

    /// Refuses an output shape before anything is allocated for it.
    @discardableResult
    static func checkedCount(_ dims: [Int], dtype: DType) throws -> Int {
        let shape = try Shape(dims)
        let bytes = try shape.byteCount(for: dtype)
        guard bytes <= Tensor.maximumByteCount else { throw TensorError.tooLarge(dims: dims, byteCount: bytes) }
        return shape.elementCount
    }

    /// Reads integer attribute lists and keeps every value in a range where index arithmetic
    /// on them cannot overflow (no real model has a kernel, stride or pad near 2^24).
    static func intList(_ ctx: NodeContext, _ name: String, count: Int? = nil, minimum: Int) throws -> [Int]? {
        guard let values = try ctx.ints(name) else { return nil }
        if let count, values.count != count {
            throw OpError.attribute(name, "expected \(count) values, got \(values.count)")
        }
        for v in values where v < minimum || v > limit {
            throw OpError.attribute(name, "value \(v) is out of range [\(minimum), \(limit)]")
        }
        return values
    }

    static let limit = 1 << 24

    /// Floor division for possibly negative numerators (positive divisor).
    @inline(__always)
    static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func known(_ d: Dimension) -> Int? { if case .value(let v) = d { v } else { nil } }

    @inline(__always)
    static func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
}

