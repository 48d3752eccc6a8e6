import SegTensor

/// Element-wise comparison with explicit tolerances: |a − e| ≤ atol + rtol·|e| for floating
/// types (NaN equals NaN, infinities must match), exact equality otherwise.
package enum TensorComparison {
    /// nil when `actual` matches `expected`, else what differs (dtype, shape, or the count of
    /// mismatches and the worst one).
    package static func difference(_ actual: Tensor, _ expected: Tensor, rtol: Double, atol: Double) -> String? {
        guard actual.dtype == expected.dtype else { return "dtype \(actual.dtype), expected \(expected.dtype)" }
        guard actual.dims == expected.dims else { return "shape \(actual.shape), expected \(expected.shape)" }
        guard let a = try? actual.converted(to: .f64).scalars(as: Double.self),
              let e = try? expected.converted(to: .f64).scalars(as: Double.self) else {
            return actual == expected ? nil : "values differ"
        }
        let exact = !actual.dtype.isFloatingPoint
        var worst = 0.0, worstIndex = -1, mismatches = 0
        for i in a.indices {
            let x = a[i], y = e[i]
            if x.isNaN && y.isNaN { continue }
            if x == y { continue }
            let err = abs(x - y)
            if exact || !(err <= atol + rtol * abs(y)) {
                mismatches += 1
                if !(err <= worst) || worstIndex < 0 { worst = err; worstIndex = i }
            }
        }
        guard mismatches > 0 else { return nil }
        return "\(mismatches) of \(a.count) elements differ; worst at \(worstIndex): \(a[worstIndex]) vs \(e[worstIndex]) (rtol \(rtol), atol \(atol))"
    }
}
