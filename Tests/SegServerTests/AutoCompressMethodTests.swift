import Foundation
import SegProtocol
@testable import SegServer
import Testing

/// `model/autocompress` on the tiny segmentation fixture and its dataset: the answer, the
/// closest-found answer for impossible budgets, the cache a second run reads, and bad requests.
@Suite struct AutoCompressMethodTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    /// A small space: one pruning target, FP32 and INT8, one one-epoch rung.
    static let space: JSONValue = ["pruneTargets": [0.5], "fineTuneEpochs": [1], "finetune": ["batchSize": 2]]

    func start() async throws -> TestClient {
        let c = TestClient()
        try await c.initialize()
        // Pruning to a MACs target and timing need fixed input sizes: the tiny model at 6×9
        // (the dataset's images are stretched to it).
        _ = try await c.call(101, "model/load", ["path": .string(Self.fixture("tiny_conv_seg_6x9.onnx")), "id": "m"])
        return c
    }

    @Test func meetsLenientBudgetsWritesPlotAndResumesFromItsCache() async throws {
        let c = try await start()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("autocompress-\(UUID().uuidString)")
        let out = dir.appendingPathComponent("auto.onnx").path
        let params: JSONValue = ["id": "m", "dataset": .string(Self.fixture("tinyseg")), "maxLatencyMs": 60000, "maxMiouDrop": 1,
                                 "space": Self.space, "benchmarkRuns": 2, "outputPath": .string(out)]
        let r = try await c.call(2, "model/autocompress", params)
        let result = try #require(r["result"], "\(r)")
        let report = try #require(result["report"])
        #expect(report["chosen"]?["meetsBudgets"] == true)
        #expect(report["chosen"]?["flagged"] == nil)
        #expect(report["splits"]?["search"] == "train")
        #expect(report["chosen"]?["final"]?["split"] == "val")
        #expect(report["stoppedBy"] == "search space exhausted")
        // Probes for every structure (full and pruned, FP32 and INT8), then scored candidates. The
        // tiny model cannot reach half its MACs (its channels feed a fixed 3-class head): both
        // pruned structures are recorded as failures naming why, and the search goes on.
        let trials = report["trials"]?.arrayValue ?? []
        #expect(trials.filter { $0["probe"] == true }.map { $0["key"]?.stringValue ?? "" }.sorted() == ["full-noft-fp32", "full-noft-int8"])
        let failures = report["failures"]?.arrayValue ?? []
        #expect(failures.count == 2 && failures.allSatisfy { ($0["error"]?.stringValue ?? "").contains("out of reach") }, "\(failures)")
        #expect(trials.contains { $0["probe"] == false && $0["searchMiou"]?.doubleValue != nil })
        // The chosen recipe is a pipeline request; its first step list names real techniques.
        let steps = report["chosen"]?["recipe"]?["params"]?["steps"]?.arrayValue ?? []
        #expect(!steps.isEmpty && steps.allSatisfy { ["prune", "finetune", "fuse", "quantize"].contains($0["technique"]?.stringValue ?? "") })
        #expect(report["chosen"]?["recipe"]?["method"] == "model/pipeline")
        // The dataset as the request gave it (a folder a fresh daemon can open), not this daemon's id for it.
        #expect(report["chosen"]?["recipe"]?["params"]?["dataset"]?.stringValue == Self.fixture("tinyseg"))
        for suffix in ["", ".report.json", ".pareto.png"] {
            #expect(FileManager.default.fileExists(atPath: out + suffix), "missing \(out + suffix)")
        }
        // The chosen model is resident and segments.
        let id = try #require(result["id"]?.stringValue)
        #expect(try await c.call(3, "model/info", ["id": .string(id)])["result"] != nil)

        // Run again into another file with the same cache: nothing measured again.
        var again = params.objectValue ?? [:]
        again["outputPath"] = .string(dir.appendingPathComponent("again.onnx").path)
        again["cacheDir"] = .string(out + ".search")
        let r2 = try await c.call(4, "model/autocompress", .object(again))
        let report2 = try #require(r2["result"]?["report"], "\(r2)")
        // Only the failed candidates are tried again.
        #expect(report2["trialsMeasured"]?.intValue == Int64(failures.count))
        #expect(report2["trialsCached"]?.intValue == Int64(trials.count))
        #expect(report2["chosen"]?["key"] == report["chosen"]?["key"])
    }

    @Test func impossibleBudgetsAnswerTheClosestFlagged() async throws {
        let c = try await start()
        let r = try await c.call(2, "model/autocompress", ["id": "m", "dataset": .string(Self.fixture("tinyseg")), "maxLatencyRatio": 0.01,
                                                           "maxMiouDrop": 0, "space": Self.space, "benchmarkRuns": 2])
        let report = try #require(r["result"]?["report"], "\(r)")
        #expect(report["chosen"]?["meetsBudgets"] == false)
        let flagged = report["chosen"]?["flagged"]?.stringValue ?? ""
        #expect(flagged.contains("closest") && flagged.contains("latency"))
        // Nothing is fast enough, so nothing is trained: the two fastest structures are scored untrained.
        let scored = (report["trials"]?.arrayValue ?? []).filter { $0["probe"] == false }
        #expect(scored.count == 2)
        #expect(scored.allSatisfy { $0["epochs"] == 0 })
    }

    @Test func trialBudgetStopsTheSearchWithTheBestSoFar() async throws {
        let c = try await start()
        // Two probes and one scored candidate, then the budget: the INT8 one is never scored.
        // (A latency budget in milliseconds no run misses: the test must not hang on timing.)
        let r = try await c.call(2, "model/autocompress", ["id": "m", "dataset": .string(Self.fixture("tinyseg")), "maxLatencyMs": 60000,
                                                           "maxMiouDrop": 0.5, "space": ["pruneTargets": []], "benchmarkRuns": 2, "maxTrials": 3])
        let report = try #require(r["result"]?["report"], "\(r)")
        #expect(report["stoppedBy"] == "trial budget")
        #expect(report["trialsMeasured"] == 3)
        #expect(report["chosen"]?["key"] == "full-noft-fp32")
    }

    @Test func aTimeBudgetTooShortForAnyCandidateEndsWithAClearError() async throws {
        let c = try await start()
        // 6 ms: gone before the first candidate starts; the search stops at once, never runs on.
        let r = try await c.call(2, "model/autocompress", ["id": "m", "dataset": .string(Self.fixture("tinyseg")), "maxLatencyMs": 60000,
                                                           "maxMiouDrop": 0.5, "space": Self.space, "timeBudgetMinutes": 0.0001])
        let message = r["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("time budget") && message.contains("timeBudgetMinutes"), "\(r)")
        #expect(try await c.call(3, "model/list")["result"]?["models"]?.arrayValue?.count == 1)  // nothing registered
    }

    @Test func badRequestsAreRefusedBeforeAnyWork() async throws {
        let c = try await start()
        let dataset = JSONValue.string(Self.fixture("tinyseg"))
        let cases: [(JSONValue, String)] = [
            (["id": "m", "dataset": dataset, "maxMiouDrop": 0.01], "maxLatencyRatio"),
            (["id": "m", "dataset": dataset, "maxLatencyRatio": 0.4, "maxLatencyMs": 5, "maxMiouDrop": 0.01], "exactly one"),
            (["id": "m", "dataset": dataset, "maxLatencyRatio": 1.5, "maxMiouDrop": 0.01], "0.01...1"),
            (["id": "m", "dataset": dataset, "maxLatencyRatio": 0.4, "maxMiouDrop": 2], "maxMiouDrop"),
            (["id": "m", "dataset": dataset, "maxLatencyRatio": 0.4, "maxMiouDrop": 0.01, "searchSplit": "val"], "final split"),
            (["id": "m", "dataset": dataset, "maxLatencyRatio": 0.4, "maxMiouDrop": 0.01, "space": ["pruneTargets": [1.2]]], "pruneTargets[0]"),
            (["id": "m", "dataset": dataset, "maxLatencyRatio": 0.4, "maxMiouDrop": 0.01, "finalSplit": "test"], "test"),
            (["id": "nope", "dataset": dataset, "maxLatencyRatio": 0.4, "maxMiouDrop": 0.01], "nope"),
        ]
        for (i, (params, needle)) in cases.enumerated() {
            let r = try await c.call(Int64(10 + i), "model/autocompress", params)
            let message = r["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains(needle), "case \(i): \(r)")
        }
        // The daemon keeps serving.
        #expect(try await c.call(30, "model/list")["result"] != nil)
    }
}

/// Latency is pooled per structure: a trained model has its probe's layers, so every
/// measurement of the structure counts, and one noisy run does not decide feasibility.
@Suite struct AutoCompressPoolingTests {
    static func trial(_ target: Double?, epochs: Int, latency: Double, source: Double, miou: Double?) -> AutoCompressTrial {
        AutoCompressTrial(candidate: .init(pruneTarget: target, quantize: true, epochs: epochs), steps: [], probe: miou == nil,
                          latencyMs: latency, sourceLatencyMs: source, sizeBytes: 10, sourceSizeBytes: 100, searchMiou: miou, seconds: 1)
    }

    @Test func medianOfTheStructuresMeasurements() {
        var trials = [
            Self.trial(0.35, epochs: 0, latency: 8, source: 20, miou: nil),     // 0.40
            Self.trial(0.35, epochs: 1, latency: 10, source: 20, miou: 0.4),    // 0.50: a noisy run
            Self.trial(0.35, epochs: 3, latency: 7, source: 20, miou: 0.45),    // 0.35
            Self.trial(0.5, epochs: 0, latency: 12, source: 20, miou: nil),     // another structure
        ]
        AutoCompressTrial.pool(&trials)
        #expect(trials[0].latencyRatio == 0.4 && trials[1].latencyRatio == 0.4 && trials[2].latencyRatio == 0.4)
        #expect(trials[1].measuredLatencyRatio == 0.5)
        #expect(trials[3].latencyRatio == 0.6)
        let budgets = AutoCompressBudgets(maxLatencyRatio: 0.4, maxLatencyMs: nil, maxMiouDrop: 0.2, maxSizeRatio: nil)
        // The noisy trial meets the latency budget through its structure; the best scored one is chosen.
        #expect(budgets.latencyMet(trials[1]))
        #expect(budgets.choose(trials, sourceMiou: 0.6)?.trial.candidate.epochs == 3)
    }
}
