@testable import Quantize
import SegGraph
import SegKernels
import SegONNX
import SegProtocol
import SegReference
import SegRuntime
import SegServer
import SegTechnique
import SegTensor
import Testing

@Suite struct AdaRoundTests {
    /// A layer with per-channel scales as the writer picks them, inputs `[groups][rows][depth]`
    /// and FP32 targets computed here with plain loops.
    struct Problem {
        var layer: AdaRoundLayer
        var inputs: [Float]
        var targets: [Float]
        var rows: Int

        init(groups: Int, outPerGroup: Int, depth: Int, rows: Int, seed: UInt64) throws {
            var rng = SeededGenerator(seed: seed)
            let outputs = groups * outPerGroup
            let w = try QuantizeFixtures.random([outputs, depth], &rng).scalars(as: Float.self)
            let (_, scales) = try QDQWriter.quantizeWeight(try Tensor(dims: [outputs, depth], scalars: w), axis: 0, limit: 127)
            layer = AdaRoundLayer(groups: groups, outPerGroup: outPerGroup, depth: depth, weights: w, scales: scales, limit: 127)
            // Correlated inputs (a shared component per row) make rounding errors add up, which is
            // where choosing the direction pays.
            var x = [Float](repeating: 0, count: groups * rows * depth)
            for g in 0..<groups { for r in 0..<rows {
                let common = Float(rng.next() >> 40) / Float(1 << 24) * 2
                for d in 0..<depth { x[(g * rows + r) * depth + d] = common + Float(rng.next() >> 40) / Float(1 << 24) - 0.5 }
            } }
            inputs = x
            self.rows = rows
            targets = Self.outputs(w, inputs: x, groups: groups, outPerGroup: outPerGroup, depth: depth, rows: rows)
        }

        static func outputs(_ w: [Float], inputs x: [Float], groups: Int, outPerGroup: Int, depth: Int, rows: Int) -> [Float] {
            var y = [Float](repeating: 0, count: groups * rows * outPerGroup)
            for g in 0..<groups { for r in 0..<rows { for j in 0..<outPerGroup {
                var acc: Float = 0
                for d in 0..<depth { acc += x[(g * rows + r) * depth + d] * w[(g * outPerGroup + j) * depth + d] }
                y[(g * rows + r) * outPerGroup + j] = acc
            } } }
            return y
        }

        func mse(_ codes: [Int8]) -> Double {
            let w = codes.indices.map { Float(codes[$0]) * layer.scales[$0 / layer.depth] }
            let y = Self.outputs(w, inputs: inputs, groups: layer.groups, outPerGroup: layer.outPerGroup, depth: layer.depth, rows: rows)
            return zip(y, targets).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +) / Double(y.count)
        }

        func run(iterations: Int = 400, seed: UInt64 = 1) throws -> AdaRoundOutcome {
            var config = AdaRoundConfig()
            config.iterations = iterations
            config.batch = 64
            config.seed = seed
            return try layer.optimize(inputs: inputs, targets: targets, rows: rows, config: config, context: KernelContext(pool: ThreadPool(threadCount: 1)))
        }
    }

    @Test(arguments: [(1, 8, 24), (6, 1, 9), (2, 3, 8)])
    func learnedRoundingBeatsNearestAndStaysWithinOneStep(groups: Int, outPerGroup: Int, depth: Int) throws {
        let p = try Problem(groups: groups, outPerGroup: outPerGroup, depth: depth, rows: 256, seed: 11)
        let out = try p.run()
        let nearest = p.layer.nearestCodes
        // The MSEs recomputed here, independently of the optimiser's own bookkeeping.
        let nearestMSE = p.mse(nearest), adaMSE = p.mse(out.codes)
        #expect(adaMSE < 0.8 * nearestMSE, "adaround \(adaMSE) vs nearest \(nearestMSE)")
        #expect(abs(out.adaroundMSE - adaMSE) <= 1e-4 * nearestMSE && abs(out.nearestMSE - nearestMSE) <= 1e-4 * nearestMSE)
        #expect(out.changed > 0 && out.changed < 0.5)
        for i in out.codes.indices {
            let lower = (p.layer.weights[i] / p.layer.scales[i / depth]).rounded(.down)
            let allowed = [lower, lower + 1].map { Int(Swift.max(-127, Swift.min(127, $0))) }
            #expect(allowed.contains(Int(out.codes[i])), "weight \(i): code \(out.codes[i]) is not ⌊w/s⌋ or ⌊w/s⌋ + 1")
        }
    }

    @Test func regulariserDrivesTheRoundingToZeroOrOne() throws {
        let p = try Problem(groups: 1, outPerGroup: 8, depth: 24, rows: 256, seed: 3)
        // Without steps h(V) is the fractional part: most weights sit between 0 and 1.
        #expect(try p.run(iterations: 0).undecided > 0.9)
        #expect(try p.run(iterations: 600).undecided < 0.01)
    }

    struct Stop: Error {}

    @Test func checkpointsRunDuringTheStepsAndCanStopThem() throws {
        let p = try Problem(groups: 1, outPerGroup: 4, depth: 16, rows: 128, seed: 2)
        var config = AdaRoundConfig()
        config.iterations = 400
        var calls = 0
        #expect(throws: Stop.self) {
            _ = try p.layer.optimize(inputs: p.inputs, targets: p.targets, rows: p.rows, config: config, context: KernelContext(pool: ThreadPool(threadCount: 1)),
                                     checkpoint: { calls += 1; if calls == 3 { throw Stop() } })
        }
        #expect(calls == 3)
    }

    @Test func sameSeedSameCodes() throws {
        let p = try Problem(groups: 1, outPerGroup: 4, depth: 16, rows: 300, seed: 5)
        let a = try p.run(iterations: 200, seed: 7), b = try p.run(iterations: 200, seed: 7)
        #expect(a.codes == b.codes && a.adaroundMSE == b.adaroundMSE)
    }

    @Test(arguments: [["rounding": "adaround", "mode": "dynamic"], ["rounding": "adaround", "biasCorrection": true], ["rounding": "sideways"]] as [JSONValue])
    func conflictingParametersNameRounding(params: JSONValue) {
        do {
            _ = try QuantizeTechnique(parameters: params)
            Issue.record("accepted \(params)")
        } catch {
            #expect("\(error)".contains("rounding"), "\(error)")
        }
    }

    // MARK: - the technique end to end

    func quantize(_ rounding: String) async throws -> TechniqueResult {
        let params: JSONValue = ["rounding": .string(rounding), "adaroundIterations": 200, "adaroundRows": 256, "adaroundImages": 4]
        let ctx = TechniqueContext(samples: QuantizeFixtures.samples(6), runner: TechniqueRunner(threads: 1))
        return try await QuantizeTechnique(parameters: params).apply(to: QuantizeFixtures.net(), in: ctx)
    }

    @Test func adaroundKeepsTheQDQLayoutAndChangesOnlyWeightCodes() async throws {
        let nearest = try await quantize("nearest"), ada = try await quantize("adaround")
        let a = nearest.model.graph, b = ada.model.graph
        #expect(a.nodes == b.nodes)
        #expect(Set(a.initializers.names) == Set(b.initializers.names))
        var changedWeights = 0
        for name in a.initializers.names {
            let x = try #require(a.initializers[name]), y = try #require(b.initializers[name])
            #expect(x.shape == y.shape && x.dtype == y.dtype, "\(name)")
            guard x != y else { continue }
            // Only s8 weight codes may differ, and each by at most one step.
            #expect(x.dtype == .i8, "\(name) differs but is not an s8 weight")
            let u = try x.scalars(as: Int8.self), v = try y.scalars(as: Int8.self)
            #expect(zip(u, v).allSatisfy { abs(Int($0) - Int($1)) <= 1 }, "\(name)")
            changedWeights += 1
        }
        #expect(changedWeights >= 3 && changedWeights <= 4)
        // Every reconstructed layer is reported, with a lower output MSE than round-to-nearest.
        let layers = try #require(ada.details["adaround"]?["layers"]?.arrayValue)
        #expect(layers.compactMap { $0["node"]?.stringValue } == ["c1", "dw", "pw", "head"])
        let better = layers.filter { ($0["adaroundMSE"]?.doubleValue ?? 1) < ($0["nearestMSE"]?.doubleValue ?? 0) }
        #expect(better.count >= 3, "\(layers)")
        // The squeeze-excite conv sees one pooled vector per image: 4 rows for 8 weights per
        // output is underdetermined, so it keeps round-to-nearest.
        let skipped = try #require(ada.details["adaround"]?["skipped"]?.arrayValue)
        #expect(skipped.compactMap { $0["node"]?.stringValue } == ["se"])

        // A standard file our runtime and the reference executor agree on.
        let decoded = try ONNX.decode(try ONNX.encode(ada.model))
        let x = QuantizeFixtures.inputs(1, seed: 3)[0]
        let ref = try #require(try ReferenceExecutor(model: decoded).run(x)["y"]).scalars(as: Float.self)
        let fast = try #require(try Compiler().compile(decoded, inputShapes: ["x": [1, 3, 8, 8]]).run(x)["y"]).scalars(as: Float.self)
        let meanDiff = zip(ref, fast).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(ref.count)
        let meanAbs = ref.map { Double(abs($0)) }.reduce(0, +) / Double(ref.count)
        #expect(meanDiff <= 0.01 * meanAbs, "runtime and reference disagree: \(meanDiff) vs \(meanAbs)")
    }
}
