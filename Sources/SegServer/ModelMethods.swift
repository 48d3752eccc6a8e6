import Foundation
import SegGraph
import SegONNX
import SegPipeline
import SegProtocol
import SegReference
import SegTensor

/// `model/load|info|unload|export|annotate|run`.
extension ServerCore {
    static let modelMethods: [MethodHandler] = [
        MethodHandler(method: ModelLoadRequest.method, run: { ctx in
            let params: ModelLoadRequest.Params
            do { params = try ModelLoadRequest.decodeParams(ctx.params) } catch {
                // The load announced on arrival will not happen: requests waiting for its id
                // go on (they wait without a time limit). `loadModel` withdraws it otherwise.
                ServerCore.announcedLoadID(ctx.params).map(ctx.core.models.withdraw)
                throw error
            }
            return try ModelLoadRequest.encodeResult(try await ctx.core.loadModel(params, ctx))
        }, admit: { ctx in ServerCore.announcedLoadID(ctx.params).map(ctx.core.models.announce) }),
        .typed(ModelInfoRequest.self) { params, ctx in
            ModelJSON.info(try await ctx.core.models.entry(id: params.id))
        },
        .typed(ModelUnloadRequest.self) { params, ctx in
            let entry = try await ctx.core.models.remove(id: params.id)
            await ctx.core.variants.forget(entry.id)
            return .init(id: entry.id, freedBytes: entry.residentBytes)
        },
        .typed(ModelExportRequest.self) { params, ctx in try await ctx.core.exportModel(params) },
        .typed(ModelAnnotateRequest.self) { params, ctx in try await ctx.core.annotateModel(params) },
        .typed(ModelRunRequest.self) { params, ctx in try await ctx.core.runModel(params) },
    ]

    /// The id a `model/load` with these params will ask for (its `id`, or the file's stem), as
    /// announced on arrival; nil when the params are too malformed to tell.
    static func announcedLoadID(_ params: JSONValue?) -> String? {
        if let id = params?["id"]?.stringValue, !id.isEmpty { return id }
        guard let path = params?["path"]?.stringValue, !path.isEmpty else { return nil }
        return defaultID(for: URL(fileURLWithPath: path))
    }

    func loadModel(_ p: ModelLoadRequest.Params, _ ctx: RequestContext) async throws -> ModelDescription {
        // Until the id is reserved (or this load fails first), requests naming it wait.
        var announced = Self.announcedLoadID(ctx.params)
        defer { announced.map(models.withdraw) }
        let overrides = Self.preprocessingOverrides(p.preprocessing)
        let path = try FilePaths.existingFile(p.path, field: "params.path")
        let requestedID = p.id
        if let requestedID, requestedID.isEmpty || requestedID.count > 200 {
            throw ResponseError.invalidParams("params.id: must be 1 to 200 characters")
        }
        if p.reuse == true {
            guard p.preprocessing == nil else {
                throw ResponseError.invalidParams("params.reuse: cannot be combined with params.preprocessing (a resident model keeps the preprocessing it was loaded with)")
            }
            if let existing = await models.loaded(fromPath: path), requestedID == nil || requestedID == existing.id {
                return try await reuse(existing, path: path, ctx)
            }
        }
        let url = URL(fileURLWithPath: path)
        // Taken before reading: a file replaced while it is read will not match next time.
        let identity = FileIdentity(path: path)
        let fileBytes = identity?.size ?? 0
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
            loaded = try ResidentModel.make(id: id, path: path, model: model, fileBytes: fileBytes, derivedFrom: nil,
                                            preprocessing: .loaded(overrides: overrides, file: path),
                                            cannotRun: { ModelErrors.response(for: $0, file: path) })
            loaded?.file = identity
            try await models.finishLoading(id, entry: loaded)
        } catch {
            if loaded == nil { try? await models.finishLoading(id, entry: nil) }
            throw error
        }
        guard let entry = loaded else { throw ResponseError(.internalError, "load of \(path) produced no model") }
        Log.info("loaded \(path) as '\(entry.id)'")
        return ModelJSON.info(entry)
    }

    /// `model/load {reuse: true}` of a path a resident model came from: that model while the
    /// file is unchanged; read again, under the same id, when it was replaced or rewritten.
    func reuse(_ existing: ModelStore.Entry, path: String, _ ctx: RequestContext) async throws -> ModelDescription {
        let identity = FileIdentity(path: path)
        if let identity, existing.file == identity { return ModelJSON.info(existing) }
        ctx.progress.begin("Reloading \((path as NSString).lastPathComponent): the file changed")
        let model: Model
        do { model = try ONNX.load(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelErrors.response(for: error, file: path)
        }
        try Task.checkCancellation()
        var fresh = try ResidentModel.make(id: existing.id, path: path, model: model, fileBytes: identity?.size ?? 0, derivedFrom: nil,
                                           preprocessing: .loaded(overrides: [:], file: path),
                                           cannotRun: { ModelErrors.response(for: $0, file: path) })
        fresh.file = identity
        try await models.replace(existing, with: fresh)
        let was = existing.file.map { "was \($0)" } ?? "it was written by this daemon"
        Log.info("reloaded '\(existing.id)' from \(path): the file changed (\(was); now \(identity.map(String.init(describing:)) ?? "?"))")
        var info = ModelJSON.info(fresh)
        info.warnings.append("reloaded from \(path): the file changed since it was loaded (\(was))")
        return info
    }

    /// `model/load`'s `preprocessing` as the metadata strings `Preprocessing` reads: strings as
    /// they are, `input_size` as `h,w`, anything else as its JSON.
    static func preprocessingOverrides(_ p: PreprocessingOverrides?) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in p?.fields ?? [:] {
            switch (k, v) {
            case ("input_size", .array(let a)): out[k] = a.map { $0.jsonString }.joined(separator: ",")
            case (_, .string(let s)): out[k] = s
            default: out[k] = v.jsonString
            }
        }
        return out
    }

    /// `lraspp_mbv3_camvid.onnx` → `lraspp_mbv3_camvid`.
    static func defaultID(for url: URL) -> String {
        let stem = url.deletingPathExtension().lastPathComponent
        return stem.isEmpty ? "model" : stem
    }

    func exportModel(_ p: ModelExportRequest.Params) async throws -> ModelExportRequest.Result {
        let entry = try await models.entry(id: p.id)
        let target = try FilePaths.outputFile(p.path, field: "params.path", overwrite: p.overwrite ?? false)
        // Exported models carry their preprocessing, so they segment the same way anywhere.
        var model = entry.model
        for (k, v) in entry.preprocessing?.metadata ?? [:] where model.metadata[k] == nil { model.metadata[k] = v }
        let bytes: [UInt8]
        do { bytes = try ONNX.encode(model) } catch {
            throw ResponseError(.invalidModel, "cannot encode model '\(entry.id)': \(error)")
        }
        try OutputFiles.write(bytes, to: target, overwrite: p.overwrite ?? false, field: "params.path")
        return .init(id: entry.id, path: target, sizeBytes: Int64(bytes.count))
    }

    func runModel(_ p: ModelRunRequest.Params) async throws -> ModelRunRequest.Result {
        let engine = p.engine ?? "runtime"
        let entry = try await models.entry(id: p.id)
        let outputDir = try p.outputDir.map { try FilePaths.outputDirectory($0, field: "params.outputDir") }
        var inputs: [String: Tensor] = [:]
        for (name, spec) in p.inputs ?? [:] {
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
        var list: [ModelRunRequest.Output] = []
        for info in entry.model.graph.outputs {
            guard let t = outputs[info.name] else { continue }
            var o = ModelRunRequest.Output(name: info.name, dtype: t.dtype.rawValue, shape: t.dims)
            if let outputDir {
                let url = URL(fileURLWithPath: outputDir).appendingPathComponent(FilePaths.safeFileName(info.name) + ".npy")
                // Scratch outputs named after the graph's outputs: replaced on every run.
                try OutputFiles.write(t.npyBytes(), to: url.path, overwrite: true)
                o.path = url.path
            } else {
                o.data = Data(t.bytes).base64EncodedString()
            }
            list.append(o)
        }
        return .init(outputs: list, inferMs: (inferMs * 1000).rounded() / 1000)
    }
}

/// Model results in their wire types.
enum ModelJSON {
    static func dims(_ shape: [SegGraph.Dimension]?) -> [TensorDescription.Dimension]? {
        shape?.map { d in
            switch d {
            case .value(let v): return .value(v)
            case .param(let p): return .name(p)
            case .unknown: return .name("?")
            }
        }
    }

    static func io(_ v: ModelSummary.IO) -> TensorDescription {
        TensorDescription(name: v.name, dtype: v.dtype?.rawValue, shape: dims(v.shape))
    }

    static func preprocessing(_ p: Preprocessing, model: Model, summary: ModelSummary) -> PreprocessingDescription {
        let head = ImageModel.head(model, summary: summary)
        return PreprocessingDescription(
            input: p.inputName, inputSize: p.inputSize.map { [$0.height, $0.width] }, resize: p.resize.rawValue,
            mean: p.mean.map { Double($0) }, std: p.std.map { Double($0) }, scale: Double(p.scale), channelOrder: p.bgr ? "BGR" : "RGB",
            classes: p.classes, palette: p.palette.map { $0.map { Int($0) } }, ignoreIndex: p.ignoreIndex,
            head: head == nil ? "class_scores" : "mask_classification",
            headOutputs: head.map { [$0.classLogits, $0.maskLogits] } ?? model.graph.outputs.first.map { [$0.name] },
            headDeclared: head?.declared)
    }

    static func info(_ e: ModelStore.Entry) -> ModelDescription {
        let s = e.summary
        return ModelDescription(
            id: e.id, path: e.path, inputs: s.inputs.map(io), outputs: s.outputs.map(io), opsets: s.opsets,
            params: Int64(s.parameters), macs: Int64(s.macs), opCounts: s.opCounts, sizeBytes: e.fileBytes, residentBytes: e.residentBytes,
            metadata: e.model.metadata, producer: [e.model.producerName, e.model.producerVersion].filter { !$0.isEmpty }.joined(separator: " "),
            preprocessing: e.preprocessing.map { preprocessing($0, model: e.model, summary: e.summary) },
            warnings: s.warnings + (s.uncountedNodes > 0 ? ["MACs of \(s.uncountedNodes) node(s) not counted: their shapes are not known until run time"] : [])
                + (e.preprocessing.map { ServerCore.defaultWarnings($0, model: e.id, namesShown: true) } ?? []))
    }
}
