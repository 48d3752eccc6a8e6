import SegGraph
import SegTensor

/// The input at `index`, or an error naming it when the node left it out.
@inline(__always)
package func required(_ inputs: [Tensor?], _ index: Int) throws(OpError) -> Tensor {
    guard index < inputs.count, let t = inputs[index] else { throw .input(index, "required input is missing") }
    return t
}

/// An optional input: nil when absent or written as "".
@inline(__always)
package func optional(_ inputs: [Tensor?], _ index: Int) -> Tensor? {
    index < inputs.count ? inputs[index] : nil
}

/// Applies `f` to every element of an f32 tensor.
package func mapFloats(_ x: Tensor, _ f: (Float) -> Float) throws -> Tensor {
    var out = x
    try out.withUnsafeMutableBufferPointer(as: Float.self) { buf in
        for i in buf.indices { buf[i] = f(buf[i]) }
    }
    return out
}

extension Tensor {
    /// f32 in, `f` applied, f16 out (f16 ops compute in f32 and round once, like ORT's CPU path).
    func mapFloatsToHalf(_ f: (Float) -> Float) throws -> Tensor {
        try mapFloats(try converted(to: .f32), f).converted(to: .f16)
    }
}

/// Inference for ops whose output has the type and shape of input `index`.
package func sameAsInput(_ index: Int) -> OperatorDefinition.Infer {
    { _, inputs in [index < inputs.count ? inputs[index]?.type : nil] }
}
