import SegGraph
import SegTensor

/// `Model` → ModelProto bytes.
///
/// Fields go out in field-number order and proto2 "unset" fields (empty strings, zero
/// versions) are omitted, as the reference serializer does. Repeated scalars follow each
/// field's declared encoding in onnx.proto: `dims`, attribute `ints`/`floats` unpacked;
/// tensors always use `raw_data`.
enum ModelProtoEncoder {
    /// Protobuf messages cannot exceed 2 GiB; bigger models need external data.
    static let maximumSize = Int(Int32.max)

    static func encode(_ model: Model) throws(ONNXError) -> [UInt8] {
        var w = ProtoWriter()
        w.int(1, model.irVersion)
        w.stringIfSet(2, model.producerName)
        w.stringIfSet(3, model.producerVersion)
        w.stringIfSet(4, model.domain)
        if model.modelVersion != 0 { w.int(5, model.modelVersion) }
        w.stringIfSet(6, model.docString)
        w.message(7) { encodeGraph(model.graph, into: &$0) }
        for opset in model.opsetImports {
            w.message(8) { w in
                w.stringIfSet(1, opset.domain)  // exporters (torch) leave the default domain unset
                w.int(2, opset.version)
            }
        }
        for key in model.metadata.keys.sorted() {
            w.message(14) { w in
                w.string(1, key)
                w.string(2, model.metadata[key] ?? "")
            }
        }
        guard w.bytes.count <= maximumSize else {
            throw .unsupported("the encoded model is \(w.bytes.count) bytes, over protobuf's 2 GiB limit; external data writing is not supported")
        }
        return w.bytes
    }

    static func encodeGraph(_ graph: Graph, into w: inout ProtoWriter) {
        for node in graph.nodes { w.message(1) { encodeNode(node, into: &$0) } }
        w.stringIfSet(2, graph.name)
        for (name, tensor) in graph.initializers { w.message(5) { encodeTensor(tensor, name: name, into: &$0) } }
        w.stringIfSet(10, graph.docString)
        for info in graph.inputs { w.message(11) { encodeValueInfo(info, into: &$0) } }
        for info in graph.outputs { w.message(12) { encodeValueInfo(info, into: &$0) } }
        for info in graph.valueInfo { w.message(13) { encodeValueInfo(info, into: &$0) } }
    }

    static func encodeNode(_ node: Node, into w: inout ProtoWriter) {
        for input in node.inputs { w.string(1, input) }
        for output in node.outputs { w.string(2, output) }
        w.stringIfSet(3, node.name)
        w.string(4, node.opType)
        for attribute in node.attributes { w.message(5) { encodeAttribute(attribute, into: &$0) } }
        w.stringIfSet(6, node.docString)
        w.stringIfSet(7, node.domain)
    }

    static func encodeAttribute(_ attribute: NamedAttribute, into w: inout ProtoWriter) {
        w.string(1, attribute.name)
        let type: Int
        switch attribute.value {
        case .float(let f): w.float(2, f); type = 1
        case .int(let i): w.int(3, i); type = 2
        case .string(let s): w.string(4, s); type = 3
        case .tensor(let t): w.message(5) { encodeTensor(t, name: "", into: &$0) }; type = 4
        case .graph(let g): w.message(6) { encodeGraph(g, into: &$0) }; type = 5
        case .floats(let fs): for f in fs { w.float(7, f) }; type = 6
        case .ints(let values): for i in values { w.int(8, i) }; type = 7
        case .strings(let ss): for s in ss { w.string(9, s) }; type = 8
        case .tensors(let ts): for t in ts { w.message(10) { encodeTensor(t, name: "", into: &$0) } }; type = 9
        case .graphs(let gs): for g in gs { w.message(11) { encodeGraph(g, into: &$0) } }; type = 10
        }
        w.stringIfSet(13, attribute.docString)
        w.int(20, type)
    }

    static func encodeTensor(_ tensor: Tensor, name: String, into w: inout ProtoWriter) {
        for dim in tensor.dims { w.int(1, dim) }
        w.int(2, ONNXDataType.code(for: tensor.dtype))
        w.stringIfSet(8, name)
        w.data(9, tensor.bytes)
    }

    static func encodeValueInfo(_ info: ValueInfo, into w: inout ProtoWriter) {
        w.string(1, info.name)
        if let type = info.type {
            w.message(2) { w in
                w.message(1) { w in
                    if let elementType = type.elementType { w.int(1, ONNXDataType.code(for: elementType)) }
                    if let shape = type.shape {
                        w.message(2) { w in
                            for dim in shape {
                                w.message(1) { w in
                                    switch dim {
                                    case .value(let v): w.int(1, v)
                                    case .param(let p): w.string(2, p)
                                    case .unknown: break
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        w.stringIfSet(3, info.docString)
    }
}
