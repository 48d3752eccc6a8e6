/// Where a bias vector lines up with the output matrix C[M×N].
package enum Bias: @unchecked Sendable {
    case none
    /// C[i][j] += bias[i]  (conv as W·X: one bias per output channel = row)
    case perRow(UnsafePointer<Float>)
    /// C[i][j] += bias[j]  (fully-connected: one bias per output feature = column)
    case perColumn(UnsafePointer<Float>)
}

/// Work fused onto a GEMM or conv output tile while it is still in cache, in this order:
///   v = acc (+ bias) (+ residual if `residualBeforeActivation`)
///   v = activation(v)
///   v = v (+ residual if not `residualBeforeActivation`)
/// `residual` is a matrix shaped like C with its own leading dimension; it may alias C only
/// if it is exactly C (then it is the old C, as in `beta = 1`).
package struct Epilogue: @unchecked Sendable {
    package var bias: Bias
    package var activation: Activation
    package var residual: UnsafePointer<Float>?
    package var residualLeadingDimension: Int
    package var residualBeforeActivation: Bool

    package init(bias: Bias = .none, activation: Activation = .none,
                residual: UnsafePointer<Float>? = nil, residualLeadingDimension: Int = 0,
                residualBeforeActivation: Bool = true) {
        self.bias = bias
        self.activation = activation
        self.residual = residual
        self.residualLeadingDimension = residualLeadingDimension
        self.residualBeforeActivation = residualBeforeActivation
    }

    package static let none = Epilogue()

    var isIdentity: Bool {
        if case .none = bias, activation == .none, residual == nil { return true }
        return false
    }

    /// Applies the epilogue to rows `rows` and columns `columns` of C (leading dimension
    /// `ldc`); row/column indices are absolute so bias and residual line up.
    @inline(__always)
    func apply(c: UnsafeMutablePointer<Float>, ldc: Int, rows: Range<Int>, columns: Range<Int>) {
        if isIdentity { return }
        for i in rows {
            let row = c + i * ldc
            let rowBias: Float
            if case let .perRow(b) = bias { rowBias = b[i] } else { rowBias = 0 }
            var columnBias: UnsafePointer<Float>? = nil
            if case let .perColumn(b) = bias { columnBias = b }
            let res = residual.map { $0 + i * residualLeadingDimension }
            var j = columns.lowerBound
            while j + 8 <= columns.upperBound {
                var v = load8(row + j) + rowBias
                if let cb = columnBias { v += load8(cb + j) }
                if let res, residualBeforeActivation { v += load8(res + j) }
                v = activation.apply(v)
                if let res, !residualBeforeActivation { v += load8(res + j) }
                store8(v, row + j)
                j += 8
            }
            while j < columns.upperBound {
                var v = row[j] + rowBias
                if let cb = columnBias { v += cb[j] }
                if let res, residualBeforeActivation { v += res[j] }
                v = activation.apply(v)
                if let res, !residualBeforeActivation { v += res[j] }
                row[j] = v
                j += 1
            }
        }
    }
}

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func load8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
