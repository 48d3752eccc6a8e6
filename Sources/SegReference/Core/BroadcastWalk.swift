import SegTensor

/// NumPy broadcasting without index maps: the output is walked in C order one row at a time,
/// a row being the innermost axis after merging every run of axes that all operands read
/// contiguously (or all repeat), with each operand's offset at the row's start. Along a row an
/// operand's stride is 1 (it has that axis) or 0 (it is broadcast), so the elementwise loops are
/// plain `for` loops over pointers.
///
/// The index maps `Broadcast.indexMap` builds cost one `Int` per output element and operand, and
/// reading through them is what made f64/int/bool elementwise ops (Mask2Former's sampling grids
/// and attention masks, computed in f64 and bool) run at ~9 ns per element; a walk costs a few
/// ns per row.
package struct BroadcastWalk {
    /// Output elements.
    package let count: Int
    /// Merged output dims (rank ≥ 1; [count] when everything merges).
    let dims: [Int]
    /// Per operand, its stride along each merged dim (0 where broadcast).
    let strides: [[Int]]

    /// `operands` must broadcast to `output` (as `Broadcast.shape` computed it).
    package init(_ operands: [[Int]], output: [Int]) {
        count = output.reduce(1, *)
        let full = operands.map { Broadcast.strides(of: $0, broadcastTo: output) }
        var dims: [Int] = []
        var strides = [[Int]](repeating: [], count: operands.count)
        for axis in output.indices where output[axis] != 1 {
            let size = output[axis]
            // Axis `axis` continues the previous merged dim when, for every operand, stepping
            // the previous dim once equals stepping this one `size` times.
            if let last = dims.indices.last, full.indices.allSatisfy({ strides[$0][last] == full[$0][axis] * size }) {
                dims[last] *= size
                for k in full.indices { strides[k][last] = full[k][axis] }
            } else {
                dims.append(size)
                for k in full.indices { strides[k].append(full[k][axis]) }
            }
        }
        if dims.isEmpty {
            dims = [1]
            strides = strides.map { _ in [0] }
        }
        self.dims = dims
        self.strides = strides
    }

    /// Operand `k`'s stride along a row: 0 or 1.
    package func rowStride(_ k: Int) -> Int { strides[k][dims.count - 1] }

    /// Calls `body(outputOffset, rowLength, operandOffsets)` for every row, in order.
    @inline(__always)
    package func forEachRow(_ body: (Int, Int, UnsafeMutablePointer<Int>) -> Void) {
        guard count > 0 else { return }
        let operands = strides.count, outer = dims.count - 1, row = dims[outer]
        withUnsafeTemporaryAllocation(of: Int.self, capacity: operands + outer) { buffer in
            let offsets = buffer.baseAddress!, index = offsets + operands
            offsets.initialize(repeating: 0, count: operands + outer)
            var out = 0
            while true {
                body(out, row, offsets)
                out += row
                // Odometer over the outer dims, last fastest.
                var axis = outer - 1
                while axis >= 0 {
                    index[axis] += 1
                    for k in 0..<operands { offsets[k] += strides[k][axis] }
                    if index[axis] < dims[axis] { break }
                    for k in 0..<operands { offsets[k] -= strides[k][axis] * dims[axis] }
                    index[axis] = 0
                    axis -= 1
                }
                if axis < 0 { return }
            }
        }
    }

    /// `out[i] = f(a[·], b[·])` over the broadcast output.
    @inline(__always)
    package func binary<A, B, O>(_ a: UnsafePointer<A>, _ b: UnsafePointer<B>, into o: UnsafeMutablePointer<O>,
                                 _ f: (A, B) -> O) {
        let sa = rowStride(0), sb = rowStride(1)
        forEachRow { out, n, offsets in
            let x = a + offsets[0], y = b + offsets[1], z = o + out
            switch (sa, sb) {
            case (1, 1): for i in 0..<n { z[i] = f(x[i], y[i]) }
            case (1, 0): let v = y[0]; for i in 0..<n { z[i] = f(x[i], v) }
            case (0, 1): let v = x[0]; for i in 0..<n { z[i] = f(v, y[i]) }
            default: for i in 0..<n { z[i] = f(x[i * sa], y[i * sb]) }
            }
        }
    }

    /// `out[i] = c[·] ? x[·] : y[·]` over the broadcast output (operands in that order).
    @inline(__always)
    package func select<T>(_ c: UnsafePointer<Bool>, _ x: UnsafePointer<T>, _ y: UnsafePointer<T>, into o: UnsafeMutablePointer<T>) {
        let sc = rowStride(0), sx = rowStride(1), sy = rowStride(2)
        forEachRow { out, n, offsets in
            let cc = c + offsets[0], xx = x + offsets[1], yy = y + offsets[2], z = o + out
            for i in 0..<n { z[i] = cc[i * sc] ? xx[i * sx] : yy[i * sy] }
        }
    }
}

extension Tensor {
    /// A tensor of `dtype` and `dims` whose elements `fill` writes (every one of them).
    package static func filled<T: TensorScalar>(_: T.Type, dims: [Int], _ fill: (UnsafeMutablePointer<T>) -> Void) throws -> Tensor {
        var out = try Tensor(zeros: T.dtype, shape: try Shape(dims))
        try out.withUnsafeMutableBufferPointer(as: T.self) { buffer in
            if let base = buffer.baseAddress { fill(base) }
        }
        return out
    }
}
