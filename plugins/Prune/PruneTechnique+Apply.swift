import Foundation
import SegGraph
import SegProtocol
import SegReference
import SegTechnique
import SegTensor

extension PruneTechnique {
    package func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult {
        try context.checkCancellation()
        context.progress(0, "building the channel dependency graph")
        let graph = try analyse(model)
        let hasBN = graph.model.graph.nodes.contains { $0.opType == "BatchNormalization" }
        let folded = "the model has no BatchNormalization nodes (BatchNorm was folded into the convolutions at export); "
            + "use a BN-kept export (e.g. torch.onnx.export(..., training=TrainingMode.PRESERVE))"
        if criterion == .bnGamma && !hasBN { throw TechniqueError.notApplicable("criterion 'bnGamma' needs BatchNormalization nodes, but " + folded + " or criterion l1, l2 or fpgm") }
        if recalibrateBN == true && !hasBN { throw TechniqueError.notApplicable("recalibrateBN needs BatchNormalization nodes, but " + folded + " or drop recalibrateBN") }
        if recalibrateBN == true && context.samples == nil {
            throw TechniqueError.notApplicable("recalibrateBN needs calibration images: give params.dataset (or params.calibration.path)")
        }
        let recalibrate = recalibrateBN ?? (hasBN && context.samples != nil)

        let (scores, fallbacks) = try graph.importance(criterion, seed: seed)
        let macs = try MacCounter(graph)
        var selection: [String: JSONValue] = [:]
        let groupRatios: [String: Double]
        switch ratios {
        case .fixed(let d, let overrides):
            groupRatios = try resolve(d, overrides, in: graph)
            selection["mode"] = overrides.isEmpty ? "uniform" : "perLayer"
        case .targetMacs(let target):
            let chosen = try await chooseRatios(target: target, graph: graph, scores: scores, macs: macs, model: model, context: context)
            groupRatios = chosen.ratios
            selection = chosen.details
        }
        try context.checkCancellation()
        context.progress(0.8, "rewriting")
        let pruned = graph.plan(ratios: groupRatios, scores: scores, roundTo: roundTo)
        let kept = graph.kept(pruned)
        var out = try graph.rewrite(kept: kept)

        var bnDetails: JSONValue = ["applied": false]
        if recalibrate, let samples = context.samples {
            context.progress(0.85, "re-estimating BatchNorm statistics")
            let n = min(recalibrationImages, samples.count)
            let (recalibrated, passes) = try await BatchNormRecalibration(images: n).run(out, samples: samples, context: context)
            out = recalibrated
            bnDetails = ["applied": true, "images": .int(Int64(n)), "origin": .string(samples.origin), "passes": .int(Int64(passes))]
        }

        context.progress(0.9, "measuring")
        let before = ModelSummary(model: model, inference: try ShapeInference(model: model))
        let after = ModelSummary(model: out, inference: try ShapeInference(model: out))
        var details: [String: JSONValue] = [
            "criterion": .string(criterion.rawValue), "roundTo": .int(Int64(roundTo)),
            "paramsBefore": .int(Int64(before.parameters)), "paramsAfter": .int(Int64(after.parameters)),
            "macsBefore": .int(Int64(before.macs)), "macsAfter": .int(Int64(after.macs)),
            "macsKept": .double(before.macs > 0 ? Double(after.macs) / Double(before.macs) : 1),
            "channelsRemoved": .int(Int64(pruned.count)),
            "groups": .array(groupReport(graph, groupRatios, pruned)),
            "layers": .array(layerReport(graph, kept)),
            "ratios": .object(selection),
            "bnRecalibration": bnDetails,
            "blockedValues": .int(Int64(graph.blockReasons.count)),
            "blockedExamples": .array(graph.blockReasons.sorted { $0.key < $1.key }.prefix(12).map { .string("\($0.key): \($0.value)") }),
        ]
        if !fallbacks.isEmpty { details["bnGammaFallbackToL1"] = .array(fallbacks.map { .string($0) }) }
        if latencyRuns > 0 { details["latency"] = try await latency(before: graph.model, after: out, context: context) }
        context.progress(1, "done")
        return TechniqueResult(model: out, details: .object(details))
    }

    func analyse(_ model: Model) throws -> ChannelGraph {
        let names = Set(model.graph.nodes.map(\.name))
        if let bad = excludeNodes.first(where: { !names.contains($0) }) {
            throw TechniqueError.invalidParameter(name: "excludeNodes", reason: "the model has no node named '\(bad)'")
        }
        return try ChannelGraph(model: model, exclude: Set(excludeNodes))
    }

    /// Group name → ratio: `d` everywhere, overrides by the node names the caller gave.
    func resolve(_ d: Double, _ overrides: [String: Double], in graph: ChannelGraph) throws -> [String: Double] {
        var out: [String: Double] = [:]
        for g in graph.groups { out[g.name] = d }
        for (name, r) in overrides.sorted(by: { $0.key < $1.key }) {
            guard let g = graph.group(named: name) else {
                let hint = graph.model.graph.nodes.contains { $0.name == name }
                    ? "its channels cannot be pruned (they reach a model input/output or an operator without a channel rule)"
                    : "the model has no node named so (prunable layers: \(graph.groups.prefix(5).map(\.name).joined(separator: ", "))…)"
                throw TechniqueError.invalidParameter(name: "ratios.\(name)", reason: hint)
            }
            out[g.name] = r
        }
        return out
    }

    func groupReport(_ graph: ChannelGraph, _ ratios: [String: Double], _ pruned: Set<Int>) -> [JSONValue] {
        graph.groups.map { g in
            let removed = g.classes.filter { pruned.contains($0) }.count
            return ["name": .string(g.name), "channels": .int(Int64(g.classes.count)), "kept": .int(Int64(g.classes.count - removed)),
                    "ratio": .double(ratios[g.name] ?? 0), "convs": .int(Int64(g.producerNodes.count))]
        }
    }

    /// Output channels before and after of every Conv/ConvTranspose (the per-layer table).
    func layerReport(_ graph: ChannelGraph, _ kept: [String: [Int]]) -> [JSONValue] {
        graph.model.graph.nodes.compactMap { node in
            guard ["Conv", "ConvTranspose"].contains(node.opType), let y = node.outputs.first, let c = graph.channels[y] else { return nil }
            return ["node": .string(node.name), "channels": .int(Int64(c)), "kept": .int(Int64(kept[y]?.count ?? c))]
        }
    }

    /// Median latency of the original and pruned model on the compiled runtime, same input.
    func latency(before: Model, after: Model, context: TechniqueContext) async throws -> JSONValue {
        let runner = try context.requireRunner(for: "latency")
        var inputs: [String: Tensor] = [:]
        for input in before.graph.runtimeInputs {
            guard let dims = input.type?.concreteDims, input.type?.elementType == .f32 else {
                return ["skipped": .string("input '\(input.name)' has no static float32 shape")]
            }
            var rng = SeededGenerator(seed: 1)
            let n = dims.reduce(1, *)
            inputs[input.name] = try Tensor(dims: dims, scalars: (0..<n).map { _ in Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1 })
        }
        func measure(_ m: Model) throws -> Double {
            let compiled = try runner.prepare(m)
            _ = try compiled.run(inputs)
            var times: [Double] = []
            for _ in 0..<latencyRuns {
                try context.checkCancellation()
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try compiled.run(inputs)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            return times.sorted()[times.count / 2]
        }
        // Interleaved twice so a noisy neighbour hurts both sides alike; best median kept.
        let b1 = try measure(before), a1 = try measure(after), b2 = try measure(before), a2 = try measure(after)
        let b = min(b1, b2), a = min(a1, a2)
        return ["beforeMs": .double(b), "afterMs": .double(a), "ratio": .double(b > 0 ? a / b : 1), "runs": .int(Int64(latencyRuns)),
                "threads": context.threads.map { .int(Int64($0)) } ?? "default"]
    }
}

/// MACs of a pruning plan without rebuilding the model: a conv's MACs scale with its kept
/// outputs × kept inputs (× kept outputs alone for grouped convs); nothing else changes.
struct MacCounter: Sendable {
    let total: Int
    private let convs: [(macs: Int, x: String, y: String, grouped: Bool, cin: Int, cout: Int)]
    private let fixed: Int

    init(_ graph: ChannelGraph) throws {
        total = ModelSummary(model: graph.model, inference: graph.inference).macs
        var convs: [(Int, String, String, Bool, Int, Int)] = []
        var convMacs = 0
        for node in graph.model.graph.nodes where node.opType == "Conv" || node.opType == "ConvTranspose" {
            let x = node.inputs.first ?? "", y = node.outputs.first ?? ""
            guard node.inputs.count > 1, let w = graph.inference.types[node.inputs[1]]?.concreteDims, w.count > 2,
                  let cin = graph.channels[x], let cout = graph.channels[y] else { continue }
            let m: Int
            if node.opType == "Conv" {
                guard let yd = graph.inference.types[y]?.concreteDims else { continue }
                m = yd.reduce(1, *) * w.dropFirst().reduce(1, *)
            } else {
                guard let xd = graph.inference.types[x]?.concreteDims else { continue }
                m = xd.reduce(1, *) * w.dropFirst().reduce(1, *)
            }
            convs.append((m, x, y, (node[attribute: "group"]?.intValue ?? 1) > 1, cin, cout))
            convMacs += m
        }
        self.convs = convs.map { (macs: $0.0, x: $0.1, y: $0.2, grouped: $0.3, cin: $0.4, cout: $0.5) }
        fixed = total - convMacs
    }

    func macs(_ kept: [String: [Int]]) -> Int {
        var sum = Double(fixed)
        for c in convs {
            var f = Double(kept[c.y]?.count ?? c.cout) / Double(c.cout)
            if !c.grouped { f *= Double(kept[c.x]?.count ?? c.cin) / Double(c.cin) }
            sum += Double(c.macs) * f
        }
        return Int(sum.rounded())
    }
}
