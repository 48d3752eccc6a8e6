import SegGraph
import SegTensor

/// `GraphProto`, `NodeProto`, `AttributeProto`, `ValueInfoProto` and `TypeProto` → IR.
///
/// Fields SegSlim does not model (node/graph `metadata_props`, `quantization_annotation`,
/// device configurations, dim denotations) are skipped. Features it cannot represent faithfully
/// (sparse initializers, non-tensor value types) are refused rather than dropped silently.
enum GraphProtoDecoder {
    static func decodeGraph(_ reader: ProtoReader, context: DecodeContext) throws(ONNXError) -> Graph {
        var r = reader
        var graph = Graph()
        while let field = try r.next() {
            switch field {
            case 1:
                let decoded = try decodeNode(try r.message("NodeProto"), context: context, index: graph.nodes.count)
                if let reference = decoded.references.first {
                    throw .invalidModel("attribute '\(reference.name)' of node \(decoded.node.label(index: graph.nodes.count)) refers to '\(reference.refName)', but only function bodies may reference attributes")
                }
                graph.nodes.append(decoded.node)
            case 2: graph.name = try r.string()
            case 5:
                let (name, tensor) = try TensorProtoDecoder.decode(try r.message("TensorProto"), context: context, role: "initializer")
                guard !name.isEmpty else { throw .invalidModel("graph '\(graph.name)' has an initializer without a name") }
                guard !graph.initializers.contains(name) else {
                    throw .invalidGraph(.duplicateValue(name: name, definers: ["initializer", "initializer"]))
                }
                graph.initializers[name] = tensor
            case 10: graph.docString = try r.string()
            case 11: graph.inputs.append(try decodeValueInfo(try r.message("ValueInfoProto")))
            case 12: graph.outputs.append(try decodeValueInfo(try r.message("ValueInfoProto")))
            case 13: graph.valueInfo.append(try decodeValueInfo(try r.message("ValueInfoProto")))
            case 15: throw .unsupported("graph '\(graph.name)' has sparse initializers, which SegSlim does not support")
            default: try r.skip()
            }
        }
        return graph
    }

    // MARK: - Nodes

    /// A reference from a function-body node's attribute to an attribute of the function call.
    struct AttributeReference {
        var name: String
        var refName: String
    }

    struct DecodedNode {
        var node: Node
        var overload = ""
        var references: [AttributeReference] = []
    }

    static func decodeNode(_ reader: ProtoReader, context: DecodeContext, index: Int) throws(ONNXError) -> DecodedNode {
        var r = reader
        var decoded = DecodedNode(node: Node(opType: "", inputs: [], outputs: []))
        var attributeReaders: [ProtoReader] = []
        while let field = try r.next() {
            switch field {
            case 1: decoded.node.inputs.append(try r.string())
            case 2: decoded.node.outputs.append(try r.string())
            case 3: decoded.node.name = try r.string()
            case 4: decoded.node.opType = try r.string()
            case 5: attributeReaders.append(try r.message("AttributeProto"))
            case 6: decoded.node.docString = try r.string()
            case 7: decoded.node.domain = try r.string()
            case 8: decoded.overload = try r.string()
            default: try r.skip()
            }
        }
        guard !decoded.node.opType.isEmpty else {
            throw .invalidModel("node \(decoded.node.name.isEmpty ? "#\(index)" : "'\(decoded.node.name)'") has no op_type")
        }
        // Attributes are decoded after the name and op type are known, for error messages.
        let label = decoded.node.label(index: index)
        for reader in attributeReaders {
            switch try decodeAttribute(reader, context: context, node: label) {
            case .value(let attribute): decoded.node.attributes.append(attribute)
            case .reference(let reference): decoded.references.append(reference)
            }
        }
        return decoded
    }

    // MARK: - Attributes

    enum DecodedAttribute {
        case value(NamedAttribute)
        case reference(AttributeReference)
    }

    static func decodeAttribute(_ reader: ProtoReader, context: DecodeContext, node: String) throws(ONNXError) -> DecodedAttribute {
        var r = reader
        var name = "", refName = "", docString = ""
        var type: Int32?
        var f: Float?, i: Int64?, s: [UInt8]?, t: Tensor?, g: Graph?
        var floats: [Float] = [], ints: [Int64] = [], strings: [[UInt8]] = []
        var tensors: [Tensor] = [], graphs: [Graph] = []
        var unsupportedField: Int?
        while let field = try r.next() {
            switch field {
            case 1: name = try r.string()
            case 2: f = try r.float()
            case 3: i = try r.int64()
            case 4: s = try r.data()
            case 5: t = try TensorProtoDecoder.decode(try r.message("TensorProto"), context: context, role: "attribute tensor").tensor
            case 6: g = try decodeGraph(try r.message("GraphProto"), context: context)
            case 7: try r.appendFloats(to: &floats)
            case 8: try r.appendInt64s(to: &ints)
            case 9: strings.append(try r.data())
            case 10: tensors.append(try TensorProtoDecoder.decode(try r.message("TensorProto"), context: context, role: "attribute tensor").tensor)
            case 11: graphs.append(try decodeGraph(try r.message("GraphProto"), context: context))
            case 13: docString = try r.string()
            case 20: type = try r.int32()
            case 21: refName = try r.string()
            case 14, 15, 22, 23: unsupportedField = field; try r.skip()
            default: try r.skip()
            }
        }
        let what = "attribute '\(name)' of node \(node)"
        if !refName.isEmpty { return .reference(AttributeReference(name: name, refName: refName)) }

        func text(_ bytes: [UInt8]) throws(ONNXError) -> String {
            guard let value = String(validating: bytes, as: UTF8.self) else {
                throw .invalidModel("\(what) holds a string that is not valid UTF-8")
            }
            return value
        }

        // Before IR version 3 `type` did not exist; infer it from the one field present.
        let resolved: Int32
        if let type, type != 0 {
            resolved = type
        } else if let unsupportedField {
            resolved = [14: 13, 15: 14, 22: 11, 23: 12][unsupportedField] ?? 0
        } else {
            let present: [(Bool, Int32)] = [
                (f != nil, 1), (i != nil, 2), (s != nil, 3), (t != nil, 4), (g != nil, 5), (!floats.isEmpty, 6),
                (!ints.isEmpty, 7), (!strings.isEmpty, 8), (!tensors.isEmpty, 9), (!graphs.isEmpty, 10),
            ]
            let kinds = present.filter(\.0).map(\.1)
            guard kinds.count == 1 else {
                throw .invalidModel("\(what) has no type and \(kinds.isEmpty ? "no value" : "several values")")
            }
            resolved = kinds[0]
        }

        let value: Attribute
        switch resolved {
        case 1: value = .float(f ?? 0)
        case 2: value = .int(Int(truncatingIfNeeded: i ?? 0))
        case 3: value = .string(try text(s ?? []))
        case 4:
            guard let t else { throw .invalidModel("\(what) has type TENSOR but no tensor") }
            value = .tensor(t)
        case 5:
            guard let g else { throw .invalidModel("\(what) has type GRAPH but no graph") }
            value = .graph(g)
        case 6: value = .floats(floats)
        case 7: value = .ints(ints.map { Int(truncatingIfNeeded: $0) })
        case 8:
            var decoded: [String] = []
            for bytes in strings { decoded.append(try text(bytes)) }
            value = .strings(decoded)
        case 9: value = .tensors(tensors)
        case 10: value = .graphs(graphs)
        case 11, 12: throw .unsupported("\(what) is a sparse tensor, which SegSlim does not support")
        case 13, 14: throw .unsupported("\(what) is a type proto, which SegSlim does not support")
        default: throw .invalidModel("\(what) has unknown attribute type \(resolved)")
        }
        return .value(NamedAttribute(name, value, docString: docString))
    }

    // MARK: - Value infos and types

    static func decodeValueInfo(_ reader: ProtoReader) throws(ONNXError) -> ValueInfo {
        var r = reader
        var info = ValueInfo(name: "")
        var typeReader: ProtoReader?
        while let field = try r.next() {
            switch field {
            case 1: info.name = try r.string()
            case 2: typeReader = try r.message("TypeProto")
            case 3: info.docString = try r.string()
            default: try r.skip()
            }
        }
        if let typeReader { info.type = try decodeType(typeReader, value: info.name) }
        return info
    }

    private static func decodeType(_ reader: ProtoReader, value: String) throws(ONNXError) -> TensorType? {
        var r = reader
        var result: TensorType?
        let kinds = [4: "sequence", 5: "map", 7: "opaque", 8: "sparse tensor", 9: "optional"]
        while let field = try r.next() {
            switch field {
            case 1:
                var t = try r.message("TypeProto.Tensor")
                var type = TensorType(elementType: nil, shape: nil)
                while let tensorField = try t.next() {
                    switch tensorField {
                    case 1:
                        let code = try t.int32()
                        if code != 0 { type.elementType = try ONNXDataType.require(code, for: "value '\(value)'") }
                    case 2: type.shape = try decodeShape(try t.message("TensorShapeProto"))
                    default: try t.skip()
                    }
                }
                result = type
            case let kind where kinds[kind] != nil:
                throw .unsupported("value '\(value)' has a \(kinds[kind] ?? "") type; SegSlim supports tensor values only")
            default: try r.skip()
            }
        }
        return result
    }

    private static func decodeShape(_ reader: ProtoReader) throws(ONNXError) -> [Dimension] {
        var r = reader
        var dims: [Dimension] = []
        while let field = try r.next() {
            guard field == 1 else { try r.skip(); continue }
            var d = try r.message("TensorShapeProto.Dimension")
            var dim = Dimension.unknown
            while let dimField = try d.next() {
                switch dimField {
                case 1: dim = .value(Int(truncatingIfNeeded: try d.int64()))
                case 2: dim = .param(try d.string())
                default: try d.skip()
                }
            }
            dims.append(dim)
        }
        return dims
    }
}
