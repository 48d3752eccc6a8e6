@testable import Quantize
import Foundation
import SegGraph
import SegONNX
import SegProtocol
import SegReference
import SegRuntime
import SegServer
import SegTechnique
import SegTensor
import SegTestSupport
import Testing

@Suite struct QuantizeParameterTests {
    @Test func descriptorExamplesAreAccepted() throws {
        for e in QuantizeTechnique.descriptor.examples { _ = try QuantizeTechnique(parameters: e.parameters) }
    }

    @Test(arguments: [
        (["mode": "int4"] as JSONValue, "mode"), (["calibration": "kl"], "calibration"), (["percentile": 120], "percentile"),
        (["maxMiouDrop": -0.1], "maxMiouDrop"), (["excludeNodes": [1]], "excludeNodes[0]"), (["bogus": true], "bogus"),
        (["mode": "fp16", "maxMiouDrop": 0.01], "maxMiouDrop"), (["bins": 12.5], "bins"),
    ] as [(JSONValue, String)])
    func badParametersNameTheParameter(params: JSONValue, name: String) {
        do {
            _ = try QuantizeTechnique(parameters: params)
            Issue.record("accepted \(params)")
        } catch {
            guard case .invalidParameter(let n, _) = error else { Issue.record("\(error)"); return }
            #expect(n == name)
        }
    }
}

@Suite struct QuantizeArithmeticTests {
    @Test func activationParametersFromRange() {
        // [-1, 3]: scale 4/255, zero point round(1 / (4/255)) = round(63.75) = 64.
        let p = QuantParams(low: -1, high: 3)
        #expect(abs(p.scale - 4 / 255) < 1e-9)
        #expect(p.zeroPoint == 64)
        // A range that excludes 0 is widened to include it (zero stays exact for padding).
        #expect(QuantParams(low: 2, high: 5.1).zeroPoint == 0)
        #expect(abs(QuantParams(low: 2, high: 5.1).scale - 5.1 / 255) < 1e-9)
        #expect(QuantParams(low: -2, high: -1).zeroPoint == 255)
        #expect(QuantParams(low: 0, high: 0) == QuantParams(scale: 1, zeroPoint: 0))
    }

    @Test func perChannelWeightsAreSymmetricS8() throws {
        let w = try Tensor(dims: [2, 1, 1, 3], scalars: [Float(0.5), -1.27, 0.01, 2, 0, -0.5])
        let (q, scales) = try QDQWriter.quantizeWeight(w, axis: 0)
        #expect(abs(scales[0] - 0.01) < 1e-7)
        #expect(abs(scales[1] - 2 / 127) < 1e-7)
        let v = try q.scalars(as: Int8.self)
        // 0.5/0.01 = 50, -127, 1; 127, 0, -0.5/(2/127) = -31.75 → -32.
        #expect(v == [50, -127, 1, 127, 0, -32])
        let (qt, st) = try QDQWriter.quantizeWeight(w, axis: nil)
        #expect(st.count == 1 && abs(st[0] - 2 / 127) < 1e-7)
        #expect(try qt.scalars(as: Int8.self)[3] == 127)
    }

    @Test func narrowWeightsCannotSaturateAVX2Pairs() throws {
        let w = try Tensor(dims: [1, 4, 1, 1], scalars: [Float(1), -0.5, 0.26, -1])
        let (q, s) = try QDQWriter.quantizeWeight(w, axis: 0, limit: 64)
        #expect(abs(s[0] - 1 / 64) < 1e-9)
        #expect(try q.scalars(as: Int8.self) == [64, -32, 17, -64])
    }

    @Test func saturationRangesFollowTheOnlyConsumers() {
        var g = Graph()
        g.nodes = [
            Node(name: "hs", opType: "HardSwish", inputs: ["a"], outputs: ["b"]),
            Node(name: "hsig", opType: "HardSigmoid", inputs: ["c"], outputs: ["d"], attributes: [NamedAttribute("alpha", .float(0.25))]),
            Node(name: "both", opType: "Relu", inputs: ["e"], outputs: ["f"]),
            Node(name: "add", opType: "Add", inputs: ["e", "e"], outputs: ["g"]),
        ]
        let r = StaticQuantizer.saturationRanges(g, constants: [:])
        #expect(r["a"]?.low == -3 && r["a"]?.high == .infinity)
        #expect(r["c"]?.low == -2 && r["c"]?.high == 2)
        // e is also read by an Add, which sees every value: no clipping.
        #expect(r["e"] == nil)
    }

    static func stats(_ values: [Float], bins: Int = 512) -> TensorStatistics {
        var s = TensorStatistics()
        s.min = values.min() ?? 0
        s.max = values.max() ?? 0
        s.histogramLow = s.min
        s.histogramHigh = s.max
        s.histogram = [Double](repeating: 0, count: bins)
        let w = (s.max - s.min) / Float(bins)
        for v in values { s.histogram[min(max(Int((v - s.min) / w), 0), bins - 1)] += 1 }
        return s
    }

    @Test func estimatorsClipRareOutliersButNotTheBulk() {
        // 10,000 values in [0, 1] and one outlier at 50.
        var values = (0..<10_000).map { Float($0 % 1000) / 999 }
        values.append(50)
        let s = Self.stats(values, bins: 2048)
        let minmax = RangeEstimator.range(s, method: .minmax, percentile: 99.99)
        #expect(minmax.low == 0 && minmax.high == 50)
        let pct = RangeEstimator.range(s, method: .percentile, percentile: 99.9)
        #expect(pct.high < 2 && pct.high >= 0.9, "percentile kept \(pct)")
        // One outlier in 10,001 costs less kept (finer steps lose little) than clipped: MSE keeps it.
        let mse = RangeEstimator.range(s, method: .mse, percentile: 99.99)
        #expect(mse.high > 45, "mse clipped \(mse)")
        // A heavier tail just past the bulk is worth clipping.
        var tail = (0..<10_000).map { Float($0 % 1000) / 999 }
        tail += (0..<300).map { 1 + Float($0) / 300 * 0.5 }
        tail.append(20)
        let mseTail = RangeEstimator.range(Self.stats(tail, bins: 2048), method: .mse, percentile: 99.99)
        #expect(mseTail.high < 20 && mseTail.high >= 1, "mse kept \(mseTail)")
        let kl = RangeEstimator.range(s, method: .entropy, percentile: 99.99)
        #expect(kl.high < 10 && kl.high >= 0.9, "entropy kept \(kl)")
        // Uniform data has nothing to clip: every method keeps (nearly) all of it.
        let uniform = Self.stats((0..<10_000).map { Float($0) / 9999 * 2 - 1 })
        for m in [QuantizeOptions.Calibration.percentile, .mse, .entropy] {
            let r = RangeEstimator.range(uniform, method: m, percentile: 99.999)
            #expect(r.low <= -0.85 && r.high >= 0.85, "\(m) clipped uniform data to \(r)")
        }
    }

    @Test func mseErrorIsLowestNearTheChosenRange() {
        var values = (0..<5000).map { Float($0 % 500) / 499 }
        values += [8, 9, 10]
        let s = Self.stats(values)
        let r = RangeEstimator.mseRange(s)
        let chosen = RangeEstimator.quantizationError(s, r.0, r.1)
        #expect(chosen <= RangeEstimator.quantizationError(s, s.min, s.max))
        #expect(chosen <= RangeEstimator.quantizationError(s, 0, 0.5))
    }
}

@Suite struct QuantizationPlanTests {
    func plan(_ m: Model, exclude: Set<String> = [], excludeOps: Set<String> = [], floatHead: Bool = false, fuse: Bool = false) throws -> QuantizationPlan {
        let q = try StaticQuantizer(model: m, options: try QuantizeOptions(["excludeNodes": .array(exclude.map(JSONValue.string)), "excludeOpTypes": .array(excludeOps.map(JSONValue.string)),
                                                                            "floatHead": .bool(floatHead), "fuseActivations": .bool(fuse)]))
        return q.plan()
    }

    @Test func planCoversTheNetAndSaysWhyTheRestStaysFP32() throws {
        let p = try plan(QuantizeFixtures.net())
        let quantized = Set(p.quantized.map(\.node.name))
        #expect(quantized == ["c1", "dw", "hs", "pw", "add", "gap", "se", "hsig", "mul", "head", "up"])
        // Relu after c1 is absorbed: c1's quantized output is the Relu's.
        let c1 = try #require(p.quantized.first { $0.node.name == "c1" })
        #expect(c1.output == "r1" && c1.absorbed != nil)
        #expect(p.keptFP32.map(\.node.name) == ["sm"])
        #expect(p.keptFP32.first?.reason.contains("Softmax") == true)
        // Resize shares its input's parameters; everything else has its own.
        #expect(p.paramSource["up"] == "head")
        #expect(!p.calibratedTensors.contains("up"))
        #expect(p.boundaries.contains { $0.tensor == "up" && $0.kind.contains("FP32 consumer") })
        #expect(p.boundaries.contains { $0.tensor == "x" && $0.kind == "quantize graph input" })
    }

    @Test func fusedActivationsHaveNoQDQBetweenConvAndActivation() throws {
        let p = try plan(QuantizeFixtures.net(), fuse: true)
        let dw = try #require(p.quantized.first { $0.node.name == "dw" })
        #expect(dw.output == "hs" && dw.keepsAbsorbed)
        let se = try #require(p.quantized.first { $0.node.name == "se" })
        #expect(se.output == "hsig" && se.keepsAbsorbed)
        #expect(!p.tensors.contains("dw") && !p.tensors.contains("se"))
        #expect(!p.quantized.contains { $0.node.opType == "HardSwish" || $0.node.opType == "HardSigmoid" })
    }

    @Test func floatHeadKeepsTheTailAfterTheLastConvFP32() throws {
        let p = try plan(QuantizeFixtures.net(), floatHead: true)
        #expect(!p.quantized.contains { $0.node.name == "up" })
        #expect(p.keptFP32.contains { $0.node.name == "up" && $0.reason.contains("floatHead") })
        #expect(p.quantized.contains { $0.node.name == "head" })
        // head's output is dequantized for the FP32 Resize.
        #expect(p.boundaries.contains { $0.tensor == "head" && $0.kind.contains("FP32 consumer") })
    }

    /// x → MatMul → Add(x) → LayerNormalization → MatMul → Add(residual) → MatMul → Add(mask) →
    /// Reshape → Softmax → Reshape → Add → y: the first Add is the residual stream a norm reads
    /// and the mask Add reaches a Softmax through a Reshape (both FP32 by default); the others
    /// feed neither.
    static func transformerBlock() throws -> Model {
        var g = Graph(name: "block")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(6), .value(8)]))]
        g.initializers["w1"] = try Tensor(dims: [8, 8], scalars: (0..<64).map { Float(($0 * 7) % 11) / 11 - 0.5 })
        g.initializers["w2"] = try Tensor(dims: [8, 8], scalars: (0..<64).map { Float(($0 * 5) % 13) / 13 - 0.5 })
        g.initializers["gamma"] = try Tensor(dims: [8], scalars: [Float](repeating: 1, count: 8))
        g.initializers["beta"] = try Tensor(dims: [8], scalars: [Float](repeating: 0, count: 8))
        g.nodes = [
            Node(name: "fc1", opType: "MatMul", inputs: ["x", "w1"], outputs: ["h1"]),
            Node(name: "res1", opType: "Add", inputs: ["x", "h1"], outputs: ["r1"]),
            Node(name: "ln", opType: "LayerNormalization", inputs: ["r1", "gamma", "beta"], outputs: ["n"], attributes: [NamedAttribute("axis", .int(-1))]),
            Node(name: "fc2", opType: "MatMul", inputs: ["n", "w2"], outputs: ["h2"]),
            Node(name: "res2", opType: "Add", inputs: ["r1", "h2"], outputs: ["r2"]),
            // Attention logits plus a mask, read by a Softmax through a Reshape.
            Node(name: "fc3", opType: "MatMul", inputs: ["r2", "w2"], outputs: ["logits"]),
            Node(name: "masked", opType: "Add", inputs: ["logits", "x"], outputs: ["m"]),
            Node(name: "flat", opType: "Reshape", inputs: ["m", "shape"], outputs: ["mf"]),
            Node(name: "sm", opType: "Softmax", inputs: ["mf"], outputs: ["p"], attributes: [NamedAttribute("axis", .int(-1))]),
            Node(name: "back", opType: "Reshape", inputs: ["p", "shape3"], outputs: ["pb"]),
            Node(name: "out", opType: "Add", inputs: ["pb", "r2"], outputs: ["y"]),
        ]
        g.initializers["shape"] = try Tensor(dims: [2], scalars: [6, 8] as [Int64])
        g.initializers["shape3"] = try Tensor(dims: [3], scalars: [1, 6, 8] as [Int64])
        g.outputs = [ValueInfo(name: "y", type: TensorType(elementType: .f32, shape: [.value(1), .value(6), .value(8)]))]
        return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
    }

    @Test func theResidualStreamANormReadsStaysFP32() throws {
        let m = try Self.transformerBlock()
        // floatHead off: it would keep both Adds FP32 as the tail after the last MatMul.
        let byDefault = try StaticQuantizer(model: m, options: try QuantizeOptions(["floatHead": .bool(false)])).plan()
        for name in ["res1", "masked"] {
            #expect(byDefault.keptFP32.contains { $0.node.name == name && $0.reason.contains("floatResidualStream") }, "\(name)")
        }
        // res2 feeds only a MatMul and the last Add; out feeds nothing: both stay INT8.
        #expect(Set(byDefault.quantized.map(\.node.name)) == ["fc1", "fc2", "res2", "fc3", "out"])
        let off = try StaticQuantizer(model: m, options: try QuantizeOptions(["floatHead": .bool(false), "floatResidualStream": .bool(false)])).plan()
        #expect(Set(off.quantized.map(\.node.name)) == ["fc1", "res1", "fc2", "res2", "fc3", "masked", "out"])
        // CNNs have no LayerNormalization: nothing changes for them.
        #expect(QuantizationPlan.residualStream(QuantizeFixtures.net().graph).isEmpty)
    }

    @Test func exclusionsKeepNodesFP32() throws {
        let p = try plan(QuantizeFixtures.net(), exclude: ["pw"], excludeOps: ["HardSwish"])
        #expect(!p.quantized.contains { $0.node.name == "pw" || $0.node.opType == "HardSwish" })
        #expect(p.keptFP32.contains { $0.node.name == "pw" && $0.reason.contains("excludeNodes") })
        #expect(p.keptFP32.contains { $0.node.name == "hs" && $0.reason.contains("excludeOpTypes") })
    }
}

@Suite struct QuantizeTechniqueTests {
    func apply(_ params: JSONValue, _ m: Model = QuantizeFixtures.net(), samples: Int? = 8, probe: Bool = false) async throws -> TechniqueResult {
        let t = try QuantizeTechnique(parameters: params)
        let ctx = TechniqueContext(samples: samples.map(QuantizeFixtures.samples), accuracy: probe ? try QuantizeFixtures.probe(reference: m) : nil, runner: TechniqueRunner(threads: nil))
        return try await t.apply(to: m, in: ctx)
    }

    static func relativeError(_ a: Model, _ b: Model) throws -> Double {
        var s = 0.0, e = 0.0
        for x in QuantizeFixtures.inputs(3, seed: 77) {
            let ya = try #require(try ReferenceExecutor(model: a).run(x)["y"]).scalars(as: Float.self)
            let yb = try #require(try ReferenceExecutor(model: b).run(x)["y"]).scalars(as: Float.self)
            for k in ya.indices { s += Double(ya[k] * ya[k]); e += Double((ya[k] - yb[k]) * (ya[k] - yb[k])) }
        }
        return (e / s).squareRoot()
    }

    @Test(arguments: ["minmax", "percentile", "entropy", "mse"])
    func staticQDQModelIsCloseToFP32AndStandard(calibration: String) async throws {
        let m = QuantizeFixtures.net()
        let r = try await apply(["calibration": .string(calibration), "floatHead": false, "fuseActivations": false, "narrowWeights": true], m)
        let ops = QuantizeFixtures.ops(r.model)
        #expect(ops["QuantizeLinear", default: 0] >= 10)
        #expect(ops["Relu"] == nil, "Relu should be absorbed into c1's range")
        #expect(ops["Softmax"] == 1)
        // Weights are s8, within [-64, 64] for dense convs (narrowWeights) and [-127, 127] for
        // the depthwise one; biases s32; no FP32 conv weight is left.
        for n in r.model.graph.nodes where n.opType == "Conv" {
            let producer = try #require(r.model.graph.nodes.first { $0.outputs.contains(n.inputs[1]) })
            #expect(producer.opType == "DequantizeLinear")
            let codes = try #require(r.model.graph.initializers[producer.inputs[0]]).scalars(as: Int8.self)
            let limit = n.name == "dw" ? 127 : 64
            #expect(codes.allSatisfy { abs(Int($0)) <= limit } && codes.contains { abs(Int($0)) == limit }, "\(n.name)")
        }
        // 8-bit quantization of a small random net: a few percent of error at most.
        let err = try Self.relativeError(m, r.model)
        #expect(err < 0.08, "relative error \(err) with \(calibration)")
        // A standard file: encodes, decodes, runs on the runtime like on the reference.
        let decoded = try ONNX.decode(try ONNX.encode(r.model))
        let x = QuantizeFixtures.inputs(1, seed: 3)[0]
        let ref = try ReferenceExecutor(model: decoded).run(x)["y"]
        let fast = try Compiler().compile(decoded, inputShapes: ["x": [1, 3, 8, 8]]).run(x)["y"]
        // Float summation order differs, so a value on a rounding tie may land one step apart;
        // the outputs agree to well under one step on average.
        let a = try #require(ref).scalars(as: Float.self), b = try #require(fast).scalars(as: Float.self)
        let meanDiff = zip(a, b).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(a.count)
        let meanAbs = a.map { Double(abs($0)) }.reduce(0, +) / Double(a.count)
        #expect(meanDiff <= 0.01 * meanAbs, "runtime and reference disagree on the QDQ model: \(meanDiff) vs \(meanAbs)")
        // The report: per-layer parameters and SQNR for every INT8 node.
        guard case .array(let layers) = r.details["layers"] else { Issue.record("no layers"); return }
        #expect(layers.count == 11)
        #expect(layers.allSatisfy { $0["output"]?["scale"]?.doubleValue ?? 0 > 0 })
        #expect(layers.contains { $0["sqnrDb"]?.doubleValue != nil })
        #expect(r.details["keptFP32"]?.arrayValue?.count == 1)
    }

    @Test func biasCorrectionRemovesTheShiftFromWeightRounding() async throws {
        // One 1×1 conv over 32 channels whose inputs all sit around 2: weight rounding errors
        // add up to a per-channel offset of Σ Δw · 2, which bias correction takes out.
        var rng = SeededGenerator(seed: 3)
        var g = Graph(name: "bc")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(32), .value(4), .value(4)]))]
        g.initializers["w"] = QuantizeFixtures.random([4, 32, 1, 1], &rng, scale: 1)
        g.initializers["b"] = QuantizeFixtures.random([4], &rng, scale: 0.1)
        g.nodes = [Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["y"], attributes: [NamedAttribute("kernel_shape", .ints([1, 1]))])]
        g.outputs = [ValueInfo(name: "y")]
        let m = Model(graph: g)
        let inputs: [[String: Tensor]] = (0..<6).map { _ in ["x": (try? Tensor(dims: [1, 32, 4, 4], scalars: (0..<512).map { _ in 2 + Float(rng.next() >> 40) / Float(1 << 24) - 0.5 })) ?? Tensor(scalar: Float(0))] }
        let source = SampleSource(count: 6, origin: "around 2") { inputs[$0] }
        func shift(_ biasCorrection: Bool) async throws -> Double {
            let t = try QuantizeTechnique(parameters: ["calibration": "minmax", "biasCorrection": .bool(biasCorrection), "floatHead": false])
            let q = try await t.apply(to: m, in: TechniqueContext(samples: source, runner: TechniqueRunner(threads: nil))).model
            var total = 0.0
            for c in 0..<4 {
                var sum = 0.0, n = 0.0
                for x in inputs {
                    let a = try #require(try ReferenceExecutor(model: m).run(x)["y"]).scalars(as: Float.self)
                    let b = try #require(try ReferenceExecutor(model: q).run(x)["y"]).scalars(as: Float.self)
                    for k in (c * 16)..<(c * 16 + 16) { sum += Double(b[k] - a[k]); n += 1 }
                }
                total += abs(sum / n)
            }
            return total / 4
        }
        let with = try await shift(true), without = try await shift(false)
        #expect(with < without, "mean per-channel shift \(with) with correction, \(without) without")
    }

    @Test func dryRunChangesNothingAndReportsThePlan() async throws {
        let m = QuantizeFixtures.net()
        let r = try await apply(["dryRun": true, "floatHead": false, "fuseActivations": false], m, samples: nil)
        #expect(r.model == (try StaticQuantizer.prepare(m)))
        #expect(r.dryRun)
        let pre = try #require(r.details["preflight"])
        #expect(pre["int8Nodes"]?.arrayValue?.count == 11)
        #expect(pre["fp32Nodes"]?.arrayValue?.first?["reason"]?.stringValue?.contains("Softmax") == true)
        let before = pre["weightBytesBefore"]?.intValue ?? 0, after = pre["weightBytesAfter"]?.intValue ?? 0
        #expect(after > 0 && after < before)
    }

    @Test func staticWithoutSamplesSaysWhatToPass() async throws {
        do {
            _ = try await apply([:], samples: nil)
            Issue.record("quantized without calibration data")
        } catch let e as TechniqueError {
            guard case .notApplicable(let why) = e else { Issue.record("\(e)"); return }
            #expect(why.contains("params.dataset"))
        }
    }

    @Test func fp16HalvesTheWeightsAndKeepsTheOutput() async throws {
        let m = QuantizeFixtures.net()
        let r = try await apply(["mode": "fp16"], m, samples: nil)
        #expect(r.model.graph.initializers.allSatisfy { $0.tensor.dtype != .f32 || $0.tensor.elementCount <= 4 })
        let f32 = m.graph.initializers.byteCount, f16 = r.model.graph.initializers.byteCount
        #expect(f16 * 2 <= f32 + 64)
        #expect(try Self.relativeError(m, r.model) < 2e-3)
    }

    @Test func weightOnlyStoresS8WeightsAndComputesInFloat() async throws {
        let m = QuantizeFixtures.net()
        let r = try await apply(["mode": "weightOnly"], m, samples: nil)
        let ops = QuantizeFixtures.ops(r.model)
        #expect(ops["QuantizeLinear"] == nil)
        #expect(ops["DequantizeLinear"] == 5)
        #expect(try Self.relativeError(m, r.model) < 0.03)
    }

    @Test func dynamicUsesIntegerConvolutions() async throws {
        let m = QuantizeFixtures.net()
        let r = try await apply(["mode": "dynamic"], m, samples: nil)
        let ops = QuantizeFixtures.ops(r.model)
        #expect(ops["ConvInteger"] == 5 && ops["DynamicQuantizeLinear"] == 5 && ops["Conv"] == nil)
        #expect(try Self.relativeError(m, r.model) < 0.08)
        // Written in the shape the runtime fuses: every integer conv, its Cast and its
        // dequantizing Mul in one step, nothing of it on the reference executor; the outputs as
        // the reference's to float rounding (the float layers between them, fused bias and
        // activations, are the runtime's own; DynamicQuantStepTests has the integer steps bit
        // for bit).
        let shapes = Dictionary(uniqueKeysWithValues: m.graph.runtimeInputs.map { ($0.name, $0.type?.concreteDims ?? []) })
        let compiled = try Compiler().compile(r.model, inputShapes: shapes)
        #expect(compiled.kernelCounts["ConvInteger+Cast+Mul"] == 5, "\(compiled.kernelCounts)")
        #expect(compiled.kernelCounts["DynamicQuantizeLinear"] == 5)
        #expect(!compiled.kernelCounts.keys.contains { $0.hasPrefix("ConvInteger (") || $0.hasPrefix("Cast (") })
        let inputs = try shapes.mapValues { dims in try Tensor(dims: dims, scalars: (0..<dims.reduce(1, *)).map { Float(($0 * 29) % 17) / 8 - 1 }) }
        let expected = try ReferenceExecutor(model: r.model).run(inputs)
        let actual = try compiled.run(inputs)
        for (name, e) in expected {
            let a = try #require(actual[name])
            #expect(TensorComparison.difference(a, e, rtol: 1e-5, atol: 1e-5) == nil, "\(name) differs")
        }
    }

    @Test func mixedPrecisionMeetsTheBudgetByKeepingLayersFP32() async throws {
        let m = QuantizeFixtures.net()
        // Budget 0 can only be met with every sensitive layer FP32; a loose one with none.
        let strict = try await apply(["maxMiouDrop": 0, "sensitivityLimit": 1, "calibration": "minmax"], m, probe: true)
        let mp = try #require(strict.details["mixedPrecision"])
        #expect(mp["budgetMet"]?.boolValue == true)
        #expect((mp["keptForAccuracy"]?.arrayValue?.count ?? 0) > 0)
        #expect((mp["finalDrop"]?.doubleValue ?? 1) <= 0)
        let loose = try await apply(["maxMiouDrop": 1, "calibration": "minmax"], m, probe: true)
        #expect(loose.details["mixedPrecision"]?["keptForAccuracy"]?.arrayValue?.isEmpty == true)
        #expect(QuantizeFixtures.ops(loose.model)["QuantizeLinear", default: 0] > QuantizeFixtures.ops(strict.model)["QuantizeLinear", default: 0])
    }

    @Test func sensitivityScoresEveryINT8Layer() async throws {
        let m = QuantizeFixtures.net()
        let t = try QuantizeTechnique(parameters: ["calibration": "minmax", "fuseActivations": false])
        let report = try await t.sensitivity(of: m, in: TechniqueContext(samples: QuantizeFixtures.samples(4), accuracy: try QuantizeFixtures.probe(reference: m), runner: TechniqueRunner(threads: nil)), limit: 1)
        // floatHead (default) keeps the final Resize FP32: ten INT8 layers.
        #expect(report.entries.count == 10)
        #expect(abs(report.baseline.miou - 1) < 1e-9)
        #expect(report.entries.allSatisfy { $0.score.miou <= 1 + 1e-9 && $0.setting == "int8" })
        #expect(zip(report.entries, report.entries.dropFirst()).allSatisfy { $0.score.miou <= $1.score.miou })
    }
}

@Suite struct ChannelEqualizationTests {
    /// conv1 → ReLU → depthwise → ReLU → pointwise: both pairs are found, the FP32 output is
    /// unchanged after equalizing, and the ReLU outputs' channel ranges end up close.
    @Test func equalizationKeepsTheFP32OutputAndEvensChannelRanges() async throws {
        var rng = SeededGenerator(seed: 4)
        var g = Graph(name: "eq")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(3), .value(6), .value(6)]))]
        // Channel c of conv1 is scaled by 4^c: ranges spread over 64×.
        var w1 = try QuantizeFixtures.random([4, 3, 1, 1], &rng).scalars(as: Float.self)
        for c in 0..<4 { for k in 0..<3 { w1[c * 3 + k] *= Float(1 << (2 * c)) } }
        g.initializers["w1"] = try Tensor(dims: [4, 3, 1, 1], scalars: w1)
        g.initializers["b1"] = QuantizeFixtures.random([4], &rng, scale: 0.1)
        g.initializers["wd"] = QuantizeFixtures.random([4, 1, 3, 3], &rng)
        g.initializers["wp"] = QuantizeFixtures.random([2, 4, 1, 1], &rng)
        g.nodes = [
            Node(name: "c1", opType: "Conv", inputs: ["x", "w1", "b1"], outputs: ["a"], attributes: [NamedAttribute("kernel_shape", .ints([1, 1]))]),
            Node(name: "r1", opType: "Relu", inputs: ["a"], outputs: ["t1"]),
            Node(name: "dw", opType: "Conv", inputs: ["t1", "wd"], outputs: ["d"], attributes: [NamedAttribute("group", .int(4)), NamedAttribute("kernel_shape", .ints([3, 3])), NamedAttribute("pads", .ints([1, 1, 1, 1]))]),
            Node(name: "r2", opType: "Relu", inputs: ["d"], outputs: ["t2"]),
            Node(name: "pw", opType: "Conv", inputs: ["t2", "wp"], outputs: ["y"], attributes: [NamedAttribute("kernel_shape", .ints([1, 1]))]),
        ]
        g.outputs = [ValueInfo(name: "y"), ValueInfo(name: "t1")]
        // t1 is a graph output here, which must block its pair; make a copy where it is not.
        var open = g
        open.outputs = [ValueInfo(name: "y")]
        #expect(ChannelEqualization.pairs(g).map(\.tensor) == ["t2"])
        let pairs = ChannelEqualization.pairs(open)
        #expect(pairs.map(\.tensor) == ["t1", "t2"])
        #expect(pairs.map(\.depthwise) == [true, false])
        let m = Model(graph: open)
        let inputs: [[String: Tensor]] = (0..<4).map { _ in ["x": QuantizeFixtures.random([1, 3, 6, 6], &rng, scale: 2)] }
        let (eq, _) = try await StaticQuantizer.equalize(m, samples: SampleSource(count: 4, origin: "x") { inputs[$0] }, count: 4, context: TechniqueContext(runner: TechniqueRunner(threads: nil)))
        for x in inputs {
            let a = try #require(try ReferenceExecutor(model: m).run(x)["y"]).scalars(as: Float.self)
            let b = try #require(try ReferenceExecutor(model: eq).run(x)["y"]).scalars(as: Float.self)
            #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($0)) })
        }
        // t1's per-channel maxima are now equal (depthwise consumer: full equalization).
        var probe = eq
        probe.graph.outputs.append(ValueInfo(name: "t1"))
        var maxima = [Float](repeating: 0, count: 4)
        for x in inputs {
            let t = try #require(try ReferenceExecutor(model: probe).run(x)["t1"]).scalars(as: Float.self)
            for c in 0..<4 { maxima[c] = max(maxima[c], t[(c * 36)..<(c * 36 + 36)].max() ?? 0) }
        }
        let live = maxima.filter { $0 > 0 }
        #expect((live.max() ?? 0) <= (live.min() ?? 0) * 1.001, "\(maxima)")
    }
}

@Suite struct QuantizedModelRewriteTests {
    /// Cleaning up an already quantized model (Fuse after Quantize, or quantizing twice)
    /// must not fold its s8 weights back into FP32 constants.
    @Test func fuseKeepsQuantizedWeights() async throws {
        let m = QuantizeFixtures.net()
        let q = try await QuantizeTechnique(parameters: [:]).apply(to: m, in: TechniqueContext(samples: QuantizeFixtures.samples(4), runner: TechniqueRunner(threads: nil))).model
        let again = try StaticQuantizer.prepare(q)
        #expect(again.graph.initializers.byteCount <= q.graph.initializers.byteCount)
        #expect(again.graph.opCounts["DequantizeLinear"] == q.graph.opCounts["DequantizeLinear"])
    }
}
