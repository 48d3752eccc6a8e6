import SegTensor

/// A float32 tensor as the training engine holds it: dims and a plain array. Training values
/// change every step and are read by loops, packers and GEMMs; a Swift array (copy-on-write)
/// keeps saved activations shared with the forward values at no copy.
package struct FloatTensor: Sendable, Equatable {
    package var dims: [Int]
    package var scalars: [Float]

    package init(dims: [Int], scalars: [Float]) {
        precondition(dims.reduce(1, *) == scalars.count, "FloatTensor: \(scalars.count) scalars for dims \(dims)")
        self.dims = dims
        self.scalars = scalars
    }

    package init(zeros dims: [Int]) {
        self.dims = dims
        self.scalars = [Float](repeating: 0, count: dims.reduce(1, *))
    }

    package init(repeating value: Float, dims: [Int]) {
        self.dims = dims
        self.scalars = [Float](repeating: value, count: dims.reduce(1, *))
    }

    /// Float tensors of any float dtype (f16/f64 are converted); other dtypes are refused.
    package init(_ tensor: Tensor, name: String) throws(AutodiffError) {
        guard tensor.dtype.isFloatingPoint else { throw .notFloat(name, tensor.dtype.description) }
        do {
            let f = try tensor.converted(to: .f32)
            self.init(dims: f.dims, scalars: try f.scalars(as: Float.self))
        } catch {
            throw .notFloat(name, tensor.dtype.description)
        }
    }

    package var count: Int { scalars.count }
    package var rank: Int { dims.count }

    /// Adds `other` (same dims) into self.
    package mutating func accumulate(_ other: FloatTensor) {
        precondition(other.dims == dims, "FloatTensor.accumulate: \(other.dims) into \(dims)")
        scalars.withUnsafeMutableBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<a.count { a[i] += b[i] }
            }
        }
    }
}
