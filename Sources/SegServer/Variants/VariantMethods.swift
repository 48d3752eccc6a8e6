import Foundation
import SegData
import SegPipeline
import SegProtocol

/// `model/variants`: register and measure a model family for light-mode segmenting.
extension ServerCore {
    static let variantMethods: [MethodHandler] = [
        .typed(ModelVariantsRequest.self) { p, ctx in try await ctx.core.variants(p, ctx) }
    ]

    func variants(_ p: ModelVariantsRequest.Params, _ ctx: RequestContext) async throws -> ModelVariantsRequest.Result {
        let source = try await models.entry(id: p.id)
        let known = await variants.members(of: source.id) ?? []
        var ids = known.dropFirst().map(\.id)
        if let set = p.set { ids = set }
        for id in p.add ?? [] where !ids.contains(id) { ids.append(id) }
        if let remove = p.remove {
            for (i, id) in remove.enumerated() where !ids.contains(id) {
                throw ResponseError.invalidParams("params.remove[\(i)]: '\(id)' is not a variant of '\(source.id)'")
            }
            ids.removeAll { remove.contains($0) }
        }
        let changing = p.set != nil || p.add != nil || p.remove != nil
        // Listing: the family as measured, or none (listing never makes or measures one).
        if !changing { return .init(id: source.id, members: known) }

        // Every member must be resident and segment like the source: same classes.
        let sourceClasses = ImageModel.classCount(source.summary)
        _ = try segmenter(for: source)
        var entries: [ModelStore.Entry] = []
        for (i, id) in ids.enumerated() {
            let field = p.set != nil ? "params.set[\(i)]" : "params.add"
            guard id != source.id else { throw ResponseError.invalidParams("\(field): '\(id)' is the family's source, already its first member") }
            let entry: ModelStore.Entry
            do { entry = try await models.entry(id: id) } catch {
                throw ResponseError(.modelNotFound, "\(field): no resident model '\(id)' (load it or make it with model/compress first)")
            }
            _ = try segmenter(for: entry)
            if let a = sourceClasses, let b = ImageModel.classCount(entry.summary), a != b {
                throw ResponseError.invalidParams("\(field): '\(id)' predicts \(b) classes, the source '\(source.id)' \(a)")
            }
            entries.append(entry)
        }

        // Measure what is new: latency alternating with the source, mIoU on the split.
        var dataset: (String, SegData.Dataset)? = nil
        if let name = p.dataset { dataset = try await self.dataset(name) }
        let split = p.split ?? "val"
        if let (_, d) = dataset, d.splits[split] == nil {
            throw ResponseError(.datasetError, "params.split: no split '\(split)' in \(d.root) (splits: \(d.splitNames.joined(separator: ", ")))")
        }
        let runs = p.benchmarkRuns ?? 10
        let quiet = ProgressReporter(token: nil, writer: nil)
        ctx.progress.begin("Measuring the variants of \(source.id)")
        func score(_ entry: ModelStore.Entry) async throws -> Double? {
            guard let (_, d) = dataset else { return nil }
            return try await evaluation(entry, d, split: split, limit: p.limit, spread: true, keepMasks: false, progress: quiet, label: entry.id).metrics.miou
        }
        var members: [ModelVariantsRequest.Member] = []
        var sourceTimes: [Double] = []
        for (i, entry) in entries.enumerated() {
            try Task.checkCancellation()
            ctx.progress.report(Double(i) / Double(entries.count + 1), message: entry.id)
            if p.set == nil, dataset == nil, let old = known.first(where: { $0.id == entry.id }) { members.append(old); continue }
            let latency = try Self.latencyComparison(source, entry, runs: runs, threads: p.threads, inputShape: p.inputShape)
            sourceTimes.append(latency["beforeP50Ms"]?.doubleValue ?? 0)
            members.append(.init(id: entry.id, latencyMs: latency["afterP50Ms"]?.doubleValue ?? 0, sizeBytes: entry.fileBytes,
                                 miou: try await score(entry), split: dataset == nil ? nil : split))
        }
        var sourceMember = known.first ?? .init(id: source.id, latencyMs: 0, sizeBytes: source.fileBytes)
        if !sourceTimes.isEmpty { sourceMember.latencyMs = sourceTimes.sorted()[sourceTimes.count / 2] }
        if sourceMember.latencyMs == 0 {
            let alone = try Self.latencyComparison(source, source, runs: runs, threads: p.threads, inputShape: p.inputShape)
            sourceMember.latencyMs = alone["beforeP50Ms"]?.doubleValue ?? 0
        }
        if dataset != nil { (sourceMember.miou, sourceMember.split) = (try await score(source), split) }
        members.insert(sourceMember, at: 0)
        let choice = VariantChoice(members: members.map { .init(id: $0.id, expectedMs: $0.latencyMs, miou: $0.miou) })
        for i in members.indices {
            members[i].accurate = i == choice.accurate
            members[i].fastest = i == choice.fastest
        }
        await variants.set(source.id, members: members)
        ctx.progress.report(1, message: "done")
        return .init(id: source.id, members: members)
    }
}
