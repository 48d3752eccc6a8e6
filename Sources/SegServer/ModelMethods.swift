import Foundation
import SegGraph
import SegONNX
import SegPipeline
import SegProtocol
import SegReference
import SegTensor

/// `model/load|info|unload|export|run`.
extension ServerCore {
    static let modelMethods: [MethodHandler] = [
        MethodHandler(method: "model/load", run: { ctx in try await ctx.core.loadModel(ctx) },
                      admit: { ctx in ServerCore.announcedLoadID(ctx.params).map(ctx.core.models.announce) }),
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

    /// The id a `model/load` with these params will ask for (its `id`, or the file's stem), as
    /// announced on arrival; nil when the params are too malformed to tell.
    static func announcedLoadID(_ params: JSONValue?) -> String? {
        if let id = params?["id"]?.stringValue, !id.isEmpty { return id }
        guard let path = params?["path"]?.stringValue, !path.isEmpty else { return nil }
        return defaultID(for: URL(fileURLWithPath: path))
    }

    func loadModel(_ ctx: RequestContext) async throws -> JSONValue {
        // Until the id is reserved (or this load fails first), requests naming it wait.
        var announced = Self.announcedLoadID(ctx.params)
        defer { announced.map(models.withdraw) }
        let p = try ParamReader(ctx.params)
        try p.rejectUnknown(allowed: ["path", "id", "preprocessing"])
        let overrides = try Self.preprocessingOverrides(try p.optionalObject("preprocessing"))
        let path = try FilePaths.existingFile(try p.string("path"), field: "params.path")
        let requestedID = try p.optionalString("id")
        if let requestedID, requestedID.isEmpty || requestedID.count > 200 {
            throw ResponseError.invalidParams("params.id: must be 1 to 200 characters")
        }
        let url = URL(fileURLWithPath: path)
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        let id = try await models.reserve(requested: requestedID, base: Self.defaultID(for: url))
        announced.map(models.withdraw)
        announced = nil
        var loaded: ModelStore.Entry? = nil
        do {
            // Refuse before reading: a file bigger than the whole budget cannot become resident.
            try await models.checkBudget(adding: fileBytes, for: id)
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
            let preprocessing = try Self.preprocessing(model, summary, overrides: overrides, file: path)
            loaded = ModelStore.Entry(
                id: id, path: path, model: model, summary: summary, executor: executor, runner: CompiledRunner(model: model), preprocessing: preprocessing, fileBytes: fileBytes,
                residentBytes: Int64(model.graph.initializers.byteCount) + 4096, loadedAt: Date(), derivedFrom: nil)
            try await models.finishLoading(id, entry: loaded)
        } catch {
            if loaded == nil { try? await models.finishLoading(id, entry: nil) }
            throw error
        }
        guard let entry = loaded else { throw ResponseError(.internalError, "load of \(path) produced no model") }
        Log.info("loaded \(path) as '\(entry.id)'")
        return ModelJSON.info(entry)
    }

    /// `model/load`'s `preprocessing` object: the `segslim.*` keys without the prefix, values as
    /// JSON (`{"mean": [0.5, 0.5, 0.5], "channel_order": "BGR", "input_size": [512, 1024]}`).
    static func preprocessingOverrides(_ p: ParamReader?) throws -> [String: String] {
        guard let p else { return [:] }
        let allowed: Set<String> = ["input_size", "resize", "mean", "std", "scale", "channel_order", "classes", "palette", "ignore_index"]
        try p.rejectUnknown(allowed: allowed)
        var out: [String: String] = [:]
        for (k, v) in p.fields {
            switch (k, v) {
            case ("input_size", .array(let a)): out[k] = a.map { $0.jsonString }.joined(separator: ",")
            case (_, .string(let s)): out[k] = s
            default: out[k] = v.jsonString
            }
        }
        return out
    }

    /// Image-in, mask-out preprocessing for a model with one 4-D float input; nil otherwise
    /// (such a model still loads and runs, but cannot segment images).
    static func preprocessing(_ model: Model, _ summary: ModelSummary, overrides: [String: String], file: String) throws -> Preprocessing? {
        guard summary.inputs.count == 1, let input = summary.inputs.first, input.shape?.count == 4,
              input.dtype == .f32 || input.dtype == nil else {
            if !overrides.isEmpty { throw ResponseError.invalidParams("params.preprocessing: \(file) is not an image model (one 4-D float input)") }
            return nil
        }
        var classes: Int? = nil
        if let out = summary.outputs.first?.shape, out.count == 4, case .value(let c) = out[1] { classes = c }
        do {
            return try Preprocessing(model: model, numClasses: classes, overrides: overrides)
        } catch {
            throw ResponseError(overrides.isEmpty ? .invalidModel : .invalidParams, "\(overrides.isEmpty ? file : "params.preprocessing"): \(error)")
        }
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
        // Exported models carry their preprocessing, so they segment the same way anywhere.
        var model = entry.model
        for (k, v) in entry.preprocessing?.metadata ?? [:] where model.metadata[k] == nil { model.metadata[k] = v }
        let bytes: [UInt8]
        do { bytes = try ONNX.encode(model) } catch {
            throw ResponseError(.invalidModel, "cannot encode model '\(entry.id)': \(error)")
        }
        try FilePaths.atomicWrite(bytes, to: target)
        return ["id": .string(entry.id), "path": .string(target), "sizeBytes": .int(Int64(bytes.count))]
    }

    func runModel(_ ctx: RequestContext) async throws -> JSONValue {
        let p = try ParamReader(ctx.params)
        try p.rejectUnknown(allowed: ["id", "inputs", "outputDir", "engine"])
        let engine = try p.optionalString("engine") ?? "runtime"
        guard engine == "runtime" || engine == "reference" else {
            throw ResponseError.invalidParams("params.engine: expected \"runtime\" (compiled, the default) or \"reference\" (the plain oracle), got \"\(engine)\"")
        }
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
            let runner: any ModelRunner = engine == "reference" ? entry.executor : entry.runner
            outputs = try runner.run(inputs, isCancelled: { Task.isCancelled })
        } catch ExecutionError.cancelled {
            throw CancellationError()
        } catch let e as ResponseError {
            throw e
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

    static func preprocessing(_ p: Preprocessing) -> JSONValue {
        [
            "input": .string(p.inputName),
            "inputSize": p.inputSize.map { [.int(Int64($0.height)), .int(Int64($0.width))] } ?? .null,
            "resize": .string(p.resize.rawValue),
            "mean": .array(p.mean.map { .double(Double($0)) }), "std": .array(p.std.map { .double(Double($0)) }),
            "scale": .double(Double(p.scale)), "channelOrder": .string(p.bgr ? "BGR" : "RGB"),
            "classes": .array(p.classes.map(JSONValue.string)),
            "palette": .array(p.palette.map { .array($0.map { .int(Int64($0)) }) }),
            "ignoreIndex": .int(Int64(p.ignoreIndex)),
        ]
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
            "preprocessing": e.preprocessing.map(preprocessing) ?? .null,
            "warnings": .array(s.warnings.map(JSONValue.string) + (s.uncountedNodes > 0 ? [.string("MACs of \(s.uncountedNodes) node(s) not counted: their shapes are not known until run time")] : [])),
        ]
    }
}
