@testable import Prune
import SegGraph
import SegProtocol
import SegReference
import SegServer
import SegTechnique
import SegTensor
import Testing

@Suite struct PruneTechniqueTests {
    @Test func descriptorExamplesAreAccepted() throws {
        for example in PruneTechnique.descriptor.examples {
            _ = try PruneTechnique(parameters: example.parameters)
        }
        _ = try PruneTechnique(parameters: [:])
    }

    @Test func badParametersNameTheParameter() {
        func reason(_ p: JSONValue) -> String? {
            do { _ = try PruneTechnique(parameters: p); return nil } catch {
                if case .invalidParameter(let name, _) = error { return name }
                return "?"
            }
        }
        #expect(reason(["ratio": 1.5]) == "ratio")
        #expect(reason(["criterion": "magnitude"]) == "criterion")
        #expect(reason(["targetMacs": 0.7, "ratio": 0.3]) == "targetMacs")
        #expect(reason(["targetMacs": 1]) == "targetMacs")
        #expect(reason(["ratios": ["c1": "half"]]) == "ratios.c1")
        #expect(reason(["roundTo": 0]) == "roundTo")
        #expect(reason(["sparsity": 0.5]) == "sparsity")
    }

    /// Two convs in sequence then a head; `bn` adds BatchNormalization after each.
    static func chain(bn: Bool) -> Model {
        var b = Builder()
        var a = b.conv("c1", "x", 4, 16)
        if bn { a = b.bn("bn1", a, 16) }
        a = b.op("Relu", [a])[0]
        var c = b.conv("c2", a, 16, 16, k: 3)
        if bn { c = b.bn("bn2", c, 16) }
        c = b.op("Relu", [c])[0]
        let y = b.conv("head", c, 16, 3)
        return b.model(output: y)
    }

    @Test func bnOptionsAreRefusedOnAFoldedModel() async throws {
        let folded = Self.chain(bn: false)
        await #expect(throws: TechniqueError.self) {
            _ = try await PruneTechnique(parameters: ["criterion": "bnGamma", "latencyRuns": 0]).apply(to: folded, in: TechniqueContext(runner: TechniqueRunner(threads: nil)))
        }
        do {
            _ = try await PruneTechnique(parameters: ["recalibrateBN": true, "latencyRuns": 0]).apply(to: folded, in: TechniqueContext(runner: TechniqueRunner(threads: nil)))
            Issue.record("recalibrateBN on a folded model was accepted")
        } catch let e as TechniqueError {
            guard case .notApplicable(let why) = e else { Issue.record("wrong error \(e)"); return }
            #expect(why.contains("BatchNormalization"))
        }
    }

    @Test func applyReportsSizesAndKeepsTheInterface() async throws {
        let model = Self.chain(bn: false)
        let result = try await PruneTechnique(parameters: ["ratio": 0.5, "roundTo": 4, "latencyRuns": 0]).apply(to: model, in: TechniqueContext(runner: TechniqueRunner(threads: nil)))
        #expect(dims(result.model, "c1") == [8, 4, 1, 1])
        #expect(dims(result.model, "c2") == [8, 8, 3, 3])
        #expect(dims(result.model, "head") == [3, 8, 1, 1])
        // MACs on a 6×6 map: c1 8·4, c2 8·8·9, head 3·8, per pixel.
        let after: Int64 = 36 * (8 * 4 + 8 * 8 * 9 + 3 * 8), before: Int64 = 36 * (16 * 4 + 16 * 16 * 9 + 3 * 16)
        #expect(result.details["macsAfter"]?.intValue == after)
        #expect(result.details["macsBefore"]?.intValue == before)
        let y = try ReferenceExecutor(model: result.model).run(["x": try input()])
        #expect(y[model.graph.outputs[0].name]?.dims == [1, 3, 6, 6])
        #expect(model == Self.chain(bn: false))  // the input model is untouched
    }

    @Test func bnGammaKeepsTheLargestScales() async throws {
        var model = Self.chain(bn: true)
        let gammas: [Float] = [0.9, 0.01, 0.8, 0.02, 0.7, 0.03, 0.6, 0.04, 0.5, 0.05, 0.4, 0.06, 0.3, 0.07, 0.2, 0.08]
        model.graph.initializers["bn1.g"] = try Tensor(dims: [16], scalars: gammas)
        let graph = try ChannelGraph(model: model)
        let (scores, fallbacks) = try graph.importance(.bnGamma, seed: 0)
        #expect(fallbacks.isEmpty)
        let kept = graph.kept(graph.plan(ratios: ["c1": 0.5], scores: scores, roundTo: 1))
        #expect(kept["c1_out"] == [0, 2, 4, 6, 8, 10, 12, 14])
    }

    @Test func fpgmRemovesTheFilterNearestTheOthers() throws {
        // Rows 0 and 2 are far apart; row 1 sits between them (the geometric median).
        let d = ChannelGraph.geometricMedianDistances([[0, 0], [1, 0], [2, 0]])
        #expect(d == [3, 2, 3])
    }

    @Test func randomCriterionIsSeeded() throws {
        let graph = try ChannelGraph(model: Self.chain(bn: false))
        let a = try graph.importance(.random, seed: 3).scores, b = try graph.importance(.random, seed: 3).scores
        let c = try graph.importance(.random, seed: 4).scores
        #expect(a == b)
        #expect(a != c)
    }

    @Test func roundingNeverRemovesMoreThanAsked() {
        #expect(ChannelGraph.pruneCount(16, ratio: 0.3, roundTo: 8) == 0)
        #expect(ChannelGraph.pruneCount(16, ratio: 0.5, roundTo: 8) == 8)
        #expect(ChannelGraph.pruneCount(96, ratio: 0.3, roundTo: 8) == 24)
        #expect(ChannelGraph.pruneCount(10, ratio: 0.3, roundTo: 1) == 3)
        #expect(ChannelGraph.pruneCount(8, ratio: 0.9, roundTo: 8) == 0)
        #expect(ChannelGraph.pruneCount(2, ratio: 0.9, roundTo: 1) == 1)
    }

    /// A probe where only c2's channels matter: targetMacs must prune c1 harder than c2.
    @Test func targetMacsSpendsTheBudgetOnInsensitiveLayers() async throws {
        let model = Self.chain(bn: false)
        let probe = AccuracyProbe(split: "val", count: 4) { m, _ in
            let c2 = m.graph.nodes.first { $0.name == "c2" }.flatMap { m.graph.initializers[$0.inputs[1]]?.dims[0] } ?? 0
            let miou = 0.6 - 0.4 * Double(16 - c2) / 16
            return AccuracyScore(miou: miou, pixelAccuracy: miou, classIoU: [miou], images: 4)
        }
        let result = try await PruneTechnique(parameters: ["targetMacs": 0.6, "roundTo": 1, "latencyRuns": 0])
            .apply(to: model, in: TechniqueContext(accuracy: probe, runner: TechniqueRunner(threads: nil)))
        let kept = try #require(result.details["macsKept"]?.doubleValue)
        #expect(kept <= 0.6)
        let c1 = try #require(dims(result.model, "c1")?[0]), c2 = try #require(dims(result.model, "c2")?[0])
        #expect(c1 < c2)
        #expect(result.details["ratios"]?["mode"]?.stringValue == "sensitivity")
    }

    @Test func sensitivityMeasuresEachLayerAtEachRatio() async throws {
        let probe = AccuracyProbe(split: "val", count: 2) { _, _ in AccuracyScore(miou: 0.5, pixelAccuracy: 0.9, classIoU: [0.5], images: 2) }
        let report = try await PruneTechnique(parameters: ["roundTo": 1])
            .sensitivity(of: Self.chain(bn: false), in: TechniqueContext(accuracy: probe, runner: TechniqueRunner(threads: nil)), limit: 2)
        // Groups c1 and c2 (16 channels each), ratios 0.1 … 0.7.
        #expect(report.entries.count == 14)
        #expect(Set(report.entries.map(\.layer)) == ["c1", "c2"])
    }

    /// After recalibration each BN holds the mean and variance of its input over the images,
    /// measured independently here with the reference executor on the recalibrated model.
    @Test func bnRecalibrationMatchesTheInputStatistics() async throws {
        let model = Self.chain(bn: true)
        let images = try (0..<3).map { try input(seed: UInt64(20 + $0)) }
        let samples = SampleSource(count: 3, origin: "test") { i in ["x": images[i]] }
        let result = try await PruneTechnique(parameters: ["ratio": 0.5, "roundTo": 1, "recalibrateBN": true, "recalibrationImages": 3, "latencyRuns": 0])
            .apply(to: model, in: TechniqueContext(samples: samples, runner: TechniqueRunner(threads: nil)))
        var probe = result.model
        let bns = probe.graph.nodes.filter { $0.opType == "BatchNormalization" }
        #expect(bns.count == 2)
        // The statistics it replaced are gone: every initializer left is read by a node.
        let read = Set(probe.graph.nodes.flatMap(\.inputs))
        #expect(probe.graph.initializers.names.filter { !read.contains($0) } == [])
        probe.graph.outputs += bns.map { ValueInfo(name: $0.inputs[0]) }
        let runs = try images.map { try ReferenceExecutor(model: probe).run(["x": $0]) }
        for bn in bns {
            let values = try runs.map { try #require($0[bn.inputs[0]]) }
            let c = values[0].dims[1], hw = values[0].dims[2] * values[0].dims[3]
            let flat = try values.map { try $0.scalars(as: Float.self) }
            let mean = try #require(probe.graph.initializers[bn.inputs[3]]).scalars(as: Float.self)
            let variance = try #require(probe.graph.initializers[bn.inputs[4]]).scalars(as: Float.self)
            for ch in 0..<c {
                let xs = flat.flatMap { $0[(ch * hw)..<((ch + 1) * hw)] }.map(Double.init)
                let m = xs.reduce(0, +) / Double(xs.count)
                let v = xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count)
                #expect(abs(Double(mean[ch]) - m) <= 1e-4 + 1e-4 * abs(m), "\(bn.name) channel \(ch) mean")
                #expect(abs(Double(variance[ch]) - v) <= 1e-4 + 1e-3 * v, "\(bn.name) channel \(ch) variance")
            }
        }
    }
}
