import SegGraph
import SegProtocol
import SegTechnique
import SegTensor

/// The modes that keep FP32 compute: FP16 weights (Cast to float at load) and INT8 weights
/// behind DequantizeLinear (weight-only). The runtime folds both casts once at compile time,
/// so they run at FP32 speed from a smaller file.
enum FloatConverters {
    /// Every float initializer read by a node becomes FP16 behind a Cast node with the
    /// original name. Values beyond FP16's range saturate (counted).
    static func fp16(_ model: Model) throws -> (Model, JSONValue) {
        var graph = model.graph
        var converted = 0, saturated = 0, bytesBefore = 0, bytesAfter = 0
        let read = Set(graph.nodes.flatMap(\.inputs))
        let outputs = Set(graph.outputs.map(\.name))
        var casts: [Node] = []
        for (name, t) in model.graph.initializers where t.dtype == .f32 && read.contains(name) && !outputs.contains(name) {
            var v = try t.scalars(as: Float.self)
            for i in v.indices where v[i].isFinite && abs(v[i]) > 65504 { v[i] = v[i] < 0 ? -65504 : 65504; saturated += 1 }
            let half = try Tensor(dims: t.dims, scalars: v).converted(to: .f16)
            let bytes = half.bytes
            let newName = "\(name)_fp16"
            graph.initializers[name] = nil
            graph.initializers[newName] = half
            casts.append(Node(name: "\(name)_Cast", opType: "Cast", inputs: [newName], outputs: [name], attributes: [NamedAttribute("to", .int(1))]))
            converted += 1
            bytesBefore += t.byteCount
            bytesAfter += bytes.count
        }
        graph.nodes = casts + graph.nodes
        var out = model
        out.graph = graph
        return (out, ["initializersConverted": .int(Int64(converted)), "saturatedValues": .int(Int64(saturated)),
                      "weightBytesBefore": .int(Int64(bytesBefore)), "weightBytesAfter": .int(Int64(bytesAfter))])
    }
}
