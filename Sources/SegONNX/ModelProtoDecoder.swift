import SegGraph

/// `ModelProto` → `Model`.
///
/// `training_info` and device `configuration` are dropped: SegSlim serves inference graphs.
/// Model-local functions are inlined into the graph (see `FunctionInliner`).
enum ModelProtoDecoder {
    static func decode(_ bytes: [UInt8], context: DecodeContext) throws(ONNXError) -> Model {
        var r = ProtoReader(bytes: bytes, message: "ModelProto")
        var model = Model(opsetImports: [], producerName: "")
        var graphReader: ProtoReader?
        var functionReaders: [ProtoReader] = []
        while let field = try r.next() {
            switch field {
            case 1: model.irVersion = try r.int()
            case 2: model.producerName = try r.string()
            case 3: model.producerVersion = try r.string()
            case 4: model.domain = try r.string()
            case 5: model.modelVersion = try r.int()
            case 6: model.docString = try r.string()
            case 7: graphReader = try r.message("GraphProto")
            case 8: model.opsetImports.append(try decodeOpset(try r.message("OperatorSetIdProto")))
            case 14:
                let (key, value) = try StringEntry.decode(try r.message("StringStringEntryProto"))
                model.metadata[key] = value
            case 25: functionReaders.append(try r.message("FunctionProto"))
            default: try r.skip()
            }
        }
        guard let graphReader else { throw .invalidModel("the model has no graph (ModelProto.graph is missing)") }
        model.graph = try GraphProtoDecoder.decodeGraph(graphReader, context: context)
        // Required by the ONNX spec since IR version 3; checking them also catches most files
        // cut short between two top-level fields (protobuf has no end marker).
        guard model.irVersion > 0 else { throw .invalidModel("ModelProto.ir_version is missing (is the file truncated?)") }
        guard !model.opsetImports.isEmpty else {
            throw .invalidModel("ModelProto.opset_import is missing: the model imports no operator set (is the file truncated?)")
        }
        if let bad = model.opsetImports.first(where: { $0.version <= 0 }) {
            throw .invalidModel("opset_import for domain '\(bad.domain.isEmpty ? "ai.onnx" : bad.domain)' has version \(bad.version)")
        }

        if !functionReaders.isEmpty {
            var functions: [FunctionDefinition] = []
            for reader in functionReaders { functions.append(try FunctionDefinition.decode(reader, context: context)) }
            var inliner = try FunctionInliner(functions: functions)
            model.graph = try inliner.inline(model.graph)
            try inliner.mergeOpsets(into: &model)
        }
        return model
    }

    static func decodeOpset(_ reader: ProtoReader) throws(ONNXError) -> OpsetImport {
        var r = reader
        var opset = OpsetImport(domain: "", version: 0)
        while let field = try r.next() {
            switch field {
            case 1: opset.domain = try r.string()
            case 2: opset.version = try r.int()
            default: try r.skip()
            }
        }
        return opset
    }
}
