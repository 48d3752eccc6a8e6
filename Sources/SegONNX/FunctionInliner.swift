import SegGraph

/// A model-local function (`FunctionProto`), decoded for inlining.
struct FunctionDefinition {
    var name = ""
    var domain = ""
    var overload = ""
    var inputs: [String] = []
    var outputs: [String] = []
    var defaults: [String: Attribute] = [:]
    var nodes: [GraphProtoDecoder.DecodedNode] = []
    var opsets: [OpsetImport] = []

    static func decode(_ reader: ProtoReader, context: DecodeContext) throws(ONNXError) -> FunctionDefinition {
        var r = reader
        var function = FunctionDefinition()
        var nodeReaders: [ProtoReader] = []
        var defaultReaders: [ProtoReader] = []
        while let field = try r.next() {
            switch field {
            case 1: function.name = try r.string()
            case 4: function.inputs.append(try r.string())
            case 5: function.outputs.append(try r.string())
            case 7: nodeReaders.append(try r.message("NodeProto"))
            case 9: function.opsets.append(try ModelProtoDecoder.decodeOpset(try r.message("OperatorSetIdProto")))
            case 10: function.domain = try r.string()
            case 11: defaultReaders.append(try r.message("AttributeProto"))
            case 13: function.overload = try r.string()
            default: try r.skip()  // attribute names (6) are implied by use, doc_string, value_info, metadata
            }
        }
        let label = "function '\(function.domain.isEmpty ? "" : function.domain + ".")\(function.name)'"
        for reader in defaultReaders {
            if case .value(let attribute) = try GraphProtoDecoder.decodeAttribute(reader, context: context, node: label) {
                function.defaults[attribute.name] = attribute.value
            }
        }
        for (index, reader) in nodeReaders.enumerated() {
            let node = try GraphProtoDecoder.decodeNode(reader, context: context, index: index)
            if node.node.attributes.contains(where: { !$0.value.subgraphs.isEmpty }) {
                throw .unsupported("\(label) contains control flow (subgraph attributes in node \(node.node.label(index: index))), which SegSlim cannot inline")
            }
            function.nodes.append(node)
        }
        return function
    }
}

/// Replaces every call of a model-local function with the function's body.
///
/// Formal inputs and outputs are renamed to the call's actual values; values internal to the
/// body get the call's name as a prefix (`call/inner`) so that two calls do not collide;
/// attribute references take the call's attribute, else the function's default, else are
/// omitted (the ONNX rule). Calls inside bodies are expanded recursively up to a depth limit,
/// which also stops recursive functions.
struct FunctionInliner {
    static let maximumDepth = 32

    private var functions: [String: FunctionDefinition] = [:]
    private var usedOpsets: [OpsetImport] = []
    private var callCount = 0

    init(functions list: [FunctionDefinition]) throws(ONNXError) {
        for function in list {
            let key = Self.key(function.domain, function.name)
            guard functions[key] == nil else {
                throw .unsupported("function '\(function.name)' in domain '\(function.domain)' is defined more than once (overloads are not supported)")
            }
            functions[key] = function
        }
    }

    private static func key(_ domain: String, _ name: String) -> String { domain + "\u{0}" + name }

    mutating func inline(_ graph: Graph) throws(ONNXError) -> Graph {
        var result = graph
        result.nodes = try expand(graph.nodes, depth: 0)
        return result
    }

    /// Adds the opsets the inlined bodies need; refuses a version that conflicts with the model's.
    func mergeOpsets(into model: inout Model) throws(ONNXError) {
        for opset in usedOpsets {
            if let existing = model.opsetVersion(for: opset.domain) {
                guard existing == opset.version else {
                    throw .unsupported("a model-local function imports opset \(opset.version) of domain '\(opset.domain)', but the model imports \(existing)")
                }
            } else {
                model.opsetImports.append(opset)
            }
        }
    }

    private mutating func expand(_ nodes: [Node], depth: Int) throws(ONNXError) -> [Node] {
        var result: [Node] = []
        for (index, original) in nodes.enumerated() {
            var node = original
            for a in node.attributes.indices {
                switch node.attributes[a].value {
                case .graph(let g): node.attributes[a].value = .graph(try inline(g))
                case .graphs(let gs):
                    var inlined: [Graph] = []
                    for g in gs { inlined.append(try inline(g)) }
                    node.attributes[a].value = .graphs(inlined)
                default: break
                }
            }
            guard let function = functions[Self.key(node.domain, node.opType)] else {
                result.append(node)
                continue
            }
            result += try call(function, from: node, index: index, depth: depth)
        }
        return result
    }

    private mutating func call(_ function: FunctionDefinition, from node: Node, index: Int, depth: Int) throws(ONNXError) -> [Node] {
        let label = "function '\(function.name)' called by node \(node.label(index: index))"
        guard depth < Self.maximumDepth else {
            throw .unsupported("\(label): calls nested more than \(Self.maximumDepth) deep (is the function recursive?)")
        }
        guard node.inputs.count <= function.inputs.count, node.outputs.count <= function.outputs.count else {
            throw .invalidModel("\(label): the call has \(node.inputs.count) inputs and \(node.outputs.count) outputs, the function declares \(function.inputs.count) and \(function.outputs.count)")
        }
        callCount += 1
        let prefix = node.name.isEmpty ? "\(function.name)_\(callCount)" : node.name
        var rename: [String: String] = [:]
        for (i, formal) in function.inputs.enumerated() { rename[formal] = i < node.inputs.count ? node.inputs[i] : "" }
        for (i, formal) in function.outputs.enumerated() where i < node.outputs.count && !node.outputs[i].isEmpty {
            rename[formal] = node.outputs[i]
        }
        func mapped(_ name: String) -> String { name.isEmpty ? "" : rename[name] ?? "\(prefix)/\(name)" }

        var body: [Node] = []
        for (i, decoded) in function.nodes.enumerated() {
            var inner = decoded.node
            inner.name = "\(prefix)/\(inner.name.isEmpty ? "\(inner.opType)_\(i)" : inner.name)"
            inner.inputs = inner.inputs.map(mapped)
            inner.outputs = inner.outputs.map(mapped)
            for reference in decoded.references {
                if let value = node[attribute: reference.refName] ?? function.defaults[reference.refName] {
                    inner.attributes.append(NamedAttribute(reference.name, value))
                }
            }
            body.append(inner)
        }
        for opset in function.opsets where !usedOpsets.contains(opset) { usedOpsets.append(opset) }
        return try expand(body, depth: depth + 1)
    }
}
