import SegProtocol

/// What one candidate measured: latency on our runtime (alternating with the source), file
/// size, and, unless it was only a latency probe, mIoU on the search split.
struct AutoCompressTrial: Sendable {
    var candidate: AutoCompressCandidate
    var steps: [TechniqueStep]
    var probe: Bool
    var latencyMs: Double
    var sourceLatencyMs: Double
    var sizeBytes: Int
    var sourceSizeBytes: Int
    var searchMiou: Double?
    var seconds: Double
    /// Read from the cache of an earlier run rather than measured now.
    var cached = false

    /// The structure's latency from every measurement of it in the search (its probe and each
    /// trained model: the same layers, so the same time), as medians: one noisy run does not
    /// decide whether a structure is fast enough. Nil until pooled.
    var pooled: (latencyMs: Double, ratio: Double)? = nil

    /// This trial's own measurement, alternating with the source.
    var measuredLatencyRatio: Double { sourceLatencyMs > 0 ? latencyMs / sourceLatencyMs : .infinity }
    /// What the budgets are checked against: the pooled value when there is one.
    var latencyRatio: Double { pooled?.ratio ?? measuredLatencyRatio }
    var expectedLatencyMs: Double { pooled?.latencyMs ?? latencyMs }

    /// Sets every trial's pooled latency to the medians over the trials of its structure.
    static func pool(_ trials: inout [AutoCompressTrial]) {
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
        for key in Set(trials.map(\.candidate.structure.key)) {
            let same = trials.indices.filter { trials[$0].candidate.structure.key == key }
            let pooled = (median(same.map { trials[$0].latencyMs }), median(same.map { trials[$0].measuredLatencyRatio }))
            for i in same { trials[i].pooled = pooled }
        }
    }
    var sizeRatio: Double { sourceSizeBytes > 0 ? Double(sizeBytes) / Double(sourceSizeBytes) : .infinity }

    var json: JSONValue {
        var o: [String: JSONValue] = [
            "key": .string(candidate.key), "probe": .bool(probe),
            "pruneTarget": candidate.pruneTarget.map(JSONValue.double) ?? .null, "quantize": .bool(candidate.quantize),
            "epochs": .int(Int64(candidate.epochs)),
            "steps": .array(steps.map { ["technique": .string($0.technique), "params": $0.params ?? [:]] }),
            "latencyMs": .double(Self.round3(latencyMs)), "sourceLatencyMs": .double(Self.round3(sourceLatencyMs)),
            "latencyRatio": .double(Self.round3(latencyRatio)), "measuredLatencyRatio": .double(Self.round3(measuredLatencyRatio)),
            "sizeBytes": .int(Int64(sizeBytes)), "sizeRatio": .double(Self.round3(sizeRatio)),
            "seconds": .double(Self.round3(seconds)), "cached": .bool(cached),
        ]
        if let searchMiou { o["searchMiou"] = .double(searchMiou) }
        return .object(o)
    }

    init(candidate: AutoCompressCandidate, steps: [TechniqueStep], probe: Bool, latencyMs: Double, sourceLatencyMs: Double,
         sizeBytes: Int, sourceSizeBytes: Int, searchMiou: Double?, seconds: Double) {
        self.candidate = candidate
        self.steps = steps
        self.probe = probe
        self.latencyMs = latencyMs
        self.sourceLatencyMs = sourceLatencyMs
        self.sizeBytes = sizeBytes
        self.sourceSizeBytes = sourceSizeBytes
        self.searchMiou = searchMiou
        self.seconds = seconds
    }

    /// A trial the cache kept; nil when the file is not one (it is then measured again).
    init?(json: JSONValue) {
        guard let key = json["key"]?.stringValue, let probe = json["probe"]?.boolValue, let quantize = json["quantize"]?.boolValue,
              let epochs = json["epochs"]?.intValue, let latency = json["latencyMs"]?.doubleValue,
              let sourceLatency = json["sourceLatencyMs"]?.doubleValue, let size = json["sizeBytes"]?.intValue,
              let sizeRatio = json["sizeRatio"]?.doubleValue, let steps = json["steps"]?.arrayValue else { return nil }
        candidate = AutoCompressCandidate(pruneTarget: json["pruneTarget"]?.doubleValue, quantize: quantize, epochs: Int(epochs))
        guard candidate.key == key else { return nil }
        self.steps = steps.compactMap { s in s["technique"]?.stringValue.map { TechniqueStep(technique: $0, params: s["params"]) } }
        self.probe = probe
        latencyMs = latency
        sourceLatencyMs = sourceLatency
        sizeBytes = Int(size)
        sourceSizeBytes = sizeRatio > 0 ? Int((Double(size) / sizeRatio).rounded()) : 0
        searchMiou = json["searchMiou"]?.doubleValue
        seconds = json["seconds"]?.doubleValue ?? 0
        cached = true
    }

    static func round3(_ x: Double) -> Double { x.isFinite ? (x * 1000).rounded() / 1000 : 0 }
}
