/// A kernel plan or call was given parameters it cannot run. Sizes come from user models, so
/// every check throws one of these instead of trapping; the message names the parameter.
package enum KernelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `parameter` had `value`, which breaks `requirement` (e.g. "strides", "0", "must be ≥ 1").
    case invalidParameter(_ parameter: String, value: String, requirement: String)
    /// The combination is valid ONNX but these kernels do not implement it.
    case unsupported(_ what: String)

    package var description: String {
        switch self {
        case let .invalidParameter(parameter, value, requirement):
            return "kernel parameter '\(parameter)' = \(value) \(requirement)"
        case let .unsupported(what):
            return "unsupported by SegKernels: \(what)"
        }
    }
}

@inline(__always)
func require(_ condition: Bool, _ parameter: String, _ value: @autoclosure () -> Any,
             _ requirement: String) throws(KernelError) {
    if !condition {
        throw .invalidParameter(parameter, value: "\(value())", requirement: requirement)
    }
}
