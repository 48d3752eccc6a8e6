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
