import Foundation
import SegGraph
import SegONNX
import SegProtocol
import SegReference
import SegTensor

/// `model/load|info|unload|export|run`.
extension ServerCore {
    static let modelMethods: [MethodHandler] = [
        MethodHandler(method: "model/load") { ctx in try await ctx.core.loadModel(ctx) },
        MethodHandler(method: "model/info") { ctx in
            let p = try ParamReader(ctx.params)
            try p.rejectUnknown(allowed: ["id"])
            let entry = try await ctx.core.models.entry(id: try p.string("id"))
            return ModelJSON.info(entry)
        },
        MethodHandler(method: "model/unload") { ctx in
            let p = try ParamReader(ctx.params)
            try p.rejectUnknown(allowed: ["id"])
            let entry = try await ctx.core.models.remove(id: try p.string("id"))
            return ["id": .string(entry.id), "freedBytes": .int(entry.residentBytes)]
        },
        MethodHandler(method: "model/export") { ctx in try await ctx.core.exportModel(ctx) },
        MethodHandler(method: "model/run") { ctx in try await ctx.core.runModel(ctx) },
    ]

    func loadModel(_ ctx: RequestContext) async throws -> JSONValue {
        let p = try ParamReader(ctx.params)
        try p.rejectUnknown(allowed: ["path", "id"])
        let path = try FilePaths.existingFile(try p.string("path"), field: "params.path")
        let requestedID = try p.optionalString("id")
        if let requestedID, requestedID.isEmpty || requestedID.count > 200 {
            throw ResponseError.invalidParams("params.id: must be 1 to 200 characters")
        }
        let url = URL(fileURLWithPath: path)
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        // Refuse before reading: a file bigger than the whole budget cannot become resident.
        try await models.checkBudget(adding: fileBytes, for: requestedID ?? url.lastPathComponent)
        ctx.progress.begin("Loading \(url.lastPathComponent)")
        let model: Model
        do { model = try ONNX.load(contentsOf: url) } catch {
            throw ModelErrors.response(for: error, file: path)
        }
        try Task.checkCancellation()
        let executor: ReferenceExecutor
        let inference: ShapeInference
        do {
            executor = try ReferenceExecutor(model: model)
            inference = try ShapeInference(model: model)
        } catch {
            throw ModelErrors.response(for: error, file: path)
        }
        let summary = ModelSummary(model: model, inference: inference)
        var entry = ModelStore.Entry(
            id: requestedID ?? "", path: path, model: model, summary: summary, executor: executor, fileBytes: fileBytes,
            residentBytes: Int64(model.graph.initializers.byteCount) + 4096, loadedAt: Date(), derivedFrom: nil)
        if requestedID != nil {
            try await models.add(entry)
        } else {
            entry.id = try await models.add(entry, uniqueFrom: Self.defaultID(for: url))
        }
        Log.info("loaded \(path) as '\(entry.id)'")
        return ModelJSON.info(entry)
    }

    /// `lraspp_mbv3_camvid.onnx` → `lraspp_mbv3_camvid`.
    static func defaultID(for url: URL) -> String {
        let stem = url.deletingPathExtension().lastPathComponent
        return stem.isEmpty ? "model" : stem
    }

    func exportModel(_ ctx: RequestContext) async throws -> JSONValue {
        let p = try ParamReader(ctx.params)
        try p.rejectUnknown(allowed: ["id", "path", "overwrite"])
        let entry = try await models.entry(id: try p.string("id"))
        let target = try FilePaths.outputFile(try p.string("path"), field: "params.path", overwrite: try p.optionalBool("overwrite") ?? false)
        let bytes: [UInt8]
        do { bytes = try ONNX.encode(entry.model) } catch {
            throw ResponseError(.invalidModel, "cannot encode model '\(entry.id)': \(error)")
        }
        try FilePaths.atomicWrite(bytes, to: target)
        return ["id": .string(entry.id), "path": .string(target), "sizeBytes": .int(Int64(bytes.count))]
    }

    func runModel(_ ctx: RequestContext) async throws -> JSONValue {
        let p = try ParamReader(ctx.params)
        try p.rejectUnknown(allowed: ["id", "inputs", "outputDir"])
        let entry = try await models.entry(id: try p.string("id"))
        guard let inputSpec = try p.optionalObject("inputs") else {
            throw ResponseError.invalidParams("params.inputs: required object is missing (map each input name to {npy: path} or {dtype, shape, data})")
        }
        let outputDir = try p.optionalString("outputDir").map { try FilePaths.outputDirectory($0, field: "params.outputDir") }
        var inputs: [String: Tensor] = [:]
        for (name, spec) in inputSpec.fields {
            inputs[name] = try TensorJSON.decode(spec, field: "params.inputs.\(name)")
        }
        let started = Date()
        let outputs: [String: Tensor]
        do {
            outputs = try entry.executor.run(inputs, isCancelled: { Task.isCancelled })
        } catch ExecutionError.cancelled {
            throw CancellationError()
        } catch {
            throw ModelErrors.response(for: error, file: entry.path ?? entry.id)
        }
        let inferMs = Date().timeIntervalSince(started) * 1000
        var list: [JSONValue] = []
        for info in entry.model.graph.outputs {
            guard let t = outputs[info.name] else { continue }
            var o: [String: JSONValue] = ["name": .string(info.name), "dtype": .string(t.dtype.rawValue), "shape": .array(t.dims.map { .int(Int64($0)) })]
            if let outputDir {
                let url = URL(fileURLWithPath: outputDir).appendingPathComponent(FilePaths.safeFileName(info.name) + ".npy")
                try FilePaths.atomicWrite(t.npyBytes(), to: url.path)
                o["path"] = .string(url.path)
            } else {
                o["data"] = .string(Data(t.bytes).base64EncodedString())
            }
            list.append(.object(o))
        }
        return ["outputs": .array(list), "inferMs": .double((inferMs * 1000).rounded() / 1000)]
    }
}

/// The JSON shapes of model results.
enum ModelJSON {
    static func dims(_ shape: [SegGraph.Dimension]?) -> JSONValue {
        guard let shape else { return .null }
        return .array(shape.map { d in
            switch d {
            case .value(let v): return .int(Int64(v))
            case .param(let p): return .string(p)
            case .unknown: return .string("?")
            }
        })
    }

    static func io(_ v: ModelSummary.IO) -> JSONValue {
        ["name": .string(v.name), "dtype": v.dtype.map { .string($0.rawValue) } ?? .null, "shape": dims(v.shape)]
    }

    static func info(_ e: ModelStore.Entry) -> JSONValue {
        let s = e.summary
        return [
            "id": .string(e.id),
            "path": e.path.map(JSONValue.string) ?? .null,
            "inputs": .array(s.inputs.map(io)),
            "outputs": .array(s.outputs.map(io)),
            "opsets": .object(s.opsets.mapValues { .int(Int64($0)) }),
            "params": .int(Int64(s.parameters)),
            "macs": .int(Int64(s.macs)),
            "opCounts": .object(s.opCounts.mapValues { .int(Int64($0)) }),
            "sizeBytes": .int(e.fileBytes),
            "residentBytes": .int(e.residentBytes),
            "metadata": .object(e.model.metadata.mapValues(JSONValue.string)),
            "producer": .string([e.model.producerName, e.model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")),
            "warnings": .array(s.warnings.map(JSONValue.string) + (s.uncountedNodes > 0 ? [.string("MACs of \(s.uncountedNodes) node(s) not counted: their shapes are not known until run time")] : [])),
        ]
    }
}
