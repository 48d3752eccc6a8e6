import SegGraph
import SegKernels
import SegTensor

/// QuantizeLinear / DequantizeLinear as vectorised float steps (per-tensor and per-axis, u8
/// and s8), and a QuantizeLinear read only by a matching DequantizeLinear as one fake-quant
/// step, so QDQ graphs not (fully) on the INT8 path never go through the reference executor
/// for them.
enum QuantPath {
    /// A Q/DQ node's parameters: one set per index along `axis` (or one for the tensor).
    struct Parameters: Equatable {
        var values: [QuantParameters]
        var layout: QuantLayout
    }

    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.domain.isEmpty || node.domain == "ai.onnx", let x = node.inputs.first, let out = node.outputs.first,
              node.outputs.count == 1 else { return nil }
        switch node.opType {
        case "QuantizeLinear":
            guard b.isPlanned(x), b.isArena(out), let p = parameters(node, dims: b.dims(x), b) else { return nil }
            // Q → its only reader DQ (same parameters): one fake-quant step straight to floats.
            if b.readers[out] == 1, !b.isGraphOutput(out),
               let j = (i + 1..<b.nodes.count).first(where: { b.nodes[$0].inputs.contains(out) }),
               b.nodes[j].opType == "DequantizeLinear", b.nodes[j].inputs.first == out, let dqOut = b.nodes[j].outputs.first,
               b.isPlanned(dqOut), parameters(b.nodes[j], dims: b.dims(out), b) == p {
                consumed.insert(j)
                return .init(reads: [x], writes: [dqOut], kind: "FakeQuantize") { slot in
                    QuantizeLinearStep(operation: .fakeQuantize, input: slot(x), output: slot(dqOut), parameters: p,
                                       context: b.context, kind: "FakeQuantize")
                }
            }
            return .init(reads: [x], writes: [out], kind: "QuantizeLinear") { slot in
                QuantizeLinearStep(operation: .quantize, input: slot(x), output: slot(out), parameters: p,
                                   context: b.context, kind: "QuantizeLinear")
            }
        case "DequantizeLinear":
            guard b.isArena(x), b.elementType(x) != .f32, b.isPlanned(out), let p = parameters(node, dims: b.dims(x), b) else { return nil }
            return .init(reads: [x], writes: [out], kind: "DequantizeLinear") { slot in
                QuantizeLinearStep(operation: .dequantize, input: slot(x), output: slot(out), parameters: p,
                                   context: b.context, kind: "DequantizeLinear")
            }
        default:
            return nil
        }
    }

    /// Constant f32 scale and u8/s8 zero point (absent: u8, 0), per tensor or per axis;
    /// nil for anything else (blocked scales, 16-bit types, f16 scales: reference path).
    static func parameters(_ node: Node, dims: [Int]?, _ b: PlanBuilder) -> Parameters? {
        guard let dims, node.inputs.count >= 2, let scale = b.constant(node.inputs[1]), scale.dtype == .f32,
              (node[attribute: "block_size"]?.intValue ?? 0) == 0,
              let scales = try? scale.scalars(as: Float.self), !scales.isEmpty else { return nil }
        var signed = false
        var zeros = [Int32](repeating: 0, count: scales.count)
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let zp = b.constant(node.inputs[2]), zp.dims == scale.dims else { return nil }
            switch zp.dtype {
            case .u8: zeros = ((try? zp.scalars(as: UInt8.self)) ?? []).map { Int32($0) }
            case .i8: zeros = ((try? zp.scalars(as: Int8.self)) ?? []).map { Int32($0) }; signed = true
            default: return nil
            }
            guard zeros.count == scales.count else { return nil }
        } else if node.opType == "QuantizeLinear" {
            // No zero point: the output type comes from `output_dtype` (0 or 2 = u8, 3 = s8).
            switch node[attribute: "output_dtype"]?.intValue ?? 0 {
            case 0, 2: signed = false
            case 3: signed = true
            default: return nil
            }
        }
        if node.opType == "DequantizeLinear" {
            // The input's type decides; a zero point of the other type is the reference's error.
            let t = b.elementType(node.inputs[0])
            guard t == .u8 || t == .i8, node.inputs.count <= 2 || node.inputs[2].isEmpty || signed == (t == .i8) else { return nil }
            signed = t == .i8
        }
        let values = zip(scales, zeros).map { QuantParameters(scale: $0, zeroPoint: $1, signed: signed) }
        let count = dims.reduce(1, *)
        if scales.count == 1, scale.dims.allSatisfy({ $0 == 1 }) {
            return Parameters(values: values, layout: .perTensor(count: count))
        }
        let opset = b.model.opsetVersion(for: "") ?? 0
        guard opset >= 13, scale.dims.count == 1, !dims.isEmpty else { return nil }
        var axis = node[attribute: "axis"]?.intValue ?? 1
        if axis < 0 { axis += dims.count }
        guard axis >= 0, axis < dims.count, dims[axis] == scales.count else { return nil }
        let outer = dims[..<axis].reduce(1, *), inner = dims[(axis + 1)...].reduce(1, *)
        return Parameters(values: values, layout: QuantLayout(outer: outer, axisLength: dims[axis], inner: inner))
    }
}

/// QuantizeLinear, DequantizeLinear or both in one pass, on arena slots.
struct QuantizeLinearStep: Step {
    let operation: QuantOperation
    let input: Slot
    let output: Slot
    let parameters: QuantPath.Parameters
    let context: KernelContext
    let kind: String

    func execute(_ arena: Arena) throws {
        try quantizeLinear(operation, input: UnsafeRawPointer(arena.pointer(input)), output: UnsafeMutableRawPointer(arena.pointer(output)),
                           layout: parameters.layout, parameters: parameters.values, context: context)
    }
}
