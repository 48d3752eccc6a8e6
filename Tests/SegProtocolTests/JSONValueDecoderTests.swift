import Testing
@testable import SegProtocol

@Suite struct JSONValueDecoderTests {
    struct Inner: Codable, Equatable {
        var name: String
        var size: Int?
    }

    struct Sample: Codable, Equatable {
        var runs: Int
        var ratio: Double?
        var label: String?
        var flags: [Bool]?
        var inner: Inner?
        var items: [Inner]?
    }

    func decode(_ json: JSONValue) throws(ResponseError) -> Sample { try JSONValueDecoder().decode(Sample.self, from: json) }

    func message(_ json: JSONValue) -> String {
        do { _ = try decode(json); return "no error" } catch { return error.message }
    }

    @Test func decodesFieldsAndNestedValues() throws {
        let s = try decode(["runs": 3, "ratio": 0.5, "label": "x", "flags": [true, false], "inner": ["name": "a", "size": 2], "items": [["name": "b"]]])
        #expect(s == Sample(runs: 3, ratio: 0.5, label: "x", flags: [true, false], inner: Inner(name: "a", size: 2), items: [Inner(name: "b")]))
    }

    @Test func errorsNameTheFieldPath() {
        #expect(message(["runs": "3"]) == "params.runs: expected an integer, got string")
        #expect(message(["runs": 2.5]) == "params.runs: expected an integer, got a fraction")
        #expect(message([:]) == "params.runs: required integer is missing")
        #expect(message(["runs": 1, "inner": ["size": 1]]) == "params.inner.name: required string is missing")
        #expect(message(["runs": 1, "items": [["name": "a"], ["name": 7]]]) == "params.items[1].name: expected a string, got number")
        #expect(message(["runs": 1, "flags": [true, "no"]]) == "params.flags[1]: expected a boolean, got string")
        #expect(message(["runs": 1, "inner": "a"]) == "params.inner: expected an object, got string")
        #expect(message(["runs": 1, "ratio": "high"]) == "params.ratio: expected a number, got string")
    }

    @Test func unknownFieldsAreRefusedWithTheirPath() {
        #expect(message(["runs": 1, "run": 2]) == "params.run: unknown field (expected one of: flags, inner, items, label, ratio, runs)")
        #expect(message(["runs": 1, "inner": ["name": "a", "sise": 1]]) == "params.inner.sise: unknown field (expected one of: name, size)")
        #expect(message(["runs": 1, "items": [["name": "a", "x": 1]]]) == "params.items[0].x: unknown field (expected one of: name, size)")
        #expect(message(["runs": 1, "workDoneToken": "t"]) == "no error")
        #expect(throws: Never.self) { try JSONValueDecoder(rejectUnknownFields: false).decode(Sample.self, from: ["runs": 1, "new": 2]) }
    }

    @Test func unknownTopLevelFieldsComeBeforeMissingOnes() {
        #expect(throws: ResponseError.invalidParams("params.idd: unknown field (expected one of: id)")) {
            try ModelInfoRequest.decodeParams(["idd": "m"])
        }
        #expect(JSONValueDecoder.fieldNames(of: ModelBenchmarkRequest.Params.self) == ["id", "runs", "warmup", "threads", "batch", "inputShape", "profile", "profileSteps", "engine"])
    }

    @Test func noParamsTypeRefusesAnyField() {
        #expect(throws: ResponseError.invalidParams("params.verbose: unknown field (this method takes no parameters)")) {
            try ServerStatusRequest.decodeParams(["verbose": true])
        }
        #expect(throws: Never.self) { try ServerStatusRequest.decodeParams(nil) }
        #expect(throws: Never.self) { try ServerStatusRequest.decodeParams([]) }
        #expect(throws: ResponseError.invalidParams("params: expected an object with named fields, got a non-empty array")) {
            try ServerStatusRequest.decodeParams([1])
        }
    }

    @Test func nullReadsAsAbsent() throws {
        #expect(try decode(["runs": 1, "label": nil, "inner": nil]) == Sample(runs: 1))
        #expect(message(["runs": nil]) == "params.runs: required integer is missing")
    }

    @Test func integralDoublesReadAsIntegersAndIntegersAsNumbers() throws {
        #expect(try decode(["runs": 3.0, "ratio": 2]) == Sample(runs: 3, ratio: 2))
        #expect(message(["runs": 1e30]) == "params.runs: expected an integer, got a fraction")
    }

    @Test func rangeChecksRunAfterDecoding() {
        #expect(throws: ResponseError.invalidParams("params.steps: 0 is out of range 1...10000")) {
            try DebugSleepRequest.decodeParams(["durationMs": 5, "steps": 0])
        }
        #expect(throws: ResponseError.invalidParams("params.threads: 300 is out of range 1...256")) {
            try ModelBenchmarkRequest.decodeParams(["id": "m", "threads": 300])
        }
    }

    @Test func encodingKeepsIntegersAndSpellsNullWhereTheWireDoes() throws {
        let model = ModelListRequest.Model(id: "m", path: nil, residentBytes: 10, loadedAtMs: 1.5, derivedFrom: "a")
        let json = try JSONValueEncoder().encode(model)
        #expect(json == ["id": "m", "path": nil, "residentBytes": .int(10), "loadedAtMs": .double(1.5), "derivedFrom": "a"])
        let sample = try JSONValueEncoder().encode(Sample(runs: 2, items: [Inner(name: "x")]))
        #expect(sample == ["runs": .int(2), "items": [["name": "x"]]])
    }

    @Test func flattenedResultRoundTrips() throws {
        let metrics = EvaluationMetrics(miou: 0.5, pixelAccuracy: 0.9, meanAccuracy: 0.6, kappa: 0.8, meanDice: 0.7,
                                        perClassIoU: [.init(name: "sky", iou: 0.9)], images: 3,
                                        latency: .init(p50Ms: 1, p90Ms: 2, meanMs: 1.5), imagesPerSecond: 10, outOfRangeLabels: 0)
        let result = ModelEvaluateRequest.Result(id: "m", split: "val", metrics: metrics)
        let json = try ModelEvaluateRequest.encodeResult(result)
        #expect(json["miou"] == .double(0.5) && json["id"] == "m" && json["perClassIoU"]?.arrayValue?.first?["class"] == "sky")
        #expect(try JSONValueDecoder().decode(ModelEvaluateRequest.Result.self, from: json, path: "result") == result)
    }

    @Test func typedIDsAndImagesExplainTheirShape() {
        #expect(throws: ResponseError.invalidParams("params.images[1]: expected a path or {data: base64}")) {
            try ModelSegmentRequest.decodeParams(["id": "m", "images": ["a.jpg", 3]])
        }
        #expect(throws: ResponseError.invalidParams("params.workDoneToken: expected a string or an integer, got boolean")) {
            try DebugSleepRequest.decodeParams(["durationMs": 5, "workDoneToken": true])
        }
    }

    /// Hand-written coders may nest containers; what they write lands in place.
    struct Nested: Encodable {
        enum Keys: String, CodingKey { case a, b }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            var inner = c.nestedContainer(keyedBy: Keys.self, forKey: .a)
            try inner.encode(1, forKey: .b)
            var list = c.nestedUnkeyedContainer(forKey: .b)
            try list.encode("x")
            var deep = list.nestedContainer(keyedBy: Keys.self)
            try deep.encode(true, forKey: .a)
            var deeper = deep.nestedUnkeyedContainer(forKey: .b)
            try deeper.encode(2.5)
        }
    }

    @Test func nestedContainersWriteInPlace() throws {
        #expect(try JSONValueEncoder().encode(Nested()) == ["a": ["b": .int(1)], "b": ["x", ["a": true, "b": [.double(2.5)]]]])
    }

    @Test func tensorInputsRefuseFieldsOfTheOtherForm() throws {
        #expect(throws: ResponseError.invalidParams("params.inputs.x.dtype: unknown field (expected one of: npy)")) {
            try ModelRunRequest.decodeParams(["id": "m", "inputs": ["x": ["npy": "a.npy", "dtype": "f32"]]])
        }
        #expect(throws: ResponseError.invalidParams("params.inputs.x.shape[1]: expected an integer, got string")) {
            try ModelRunRequest.decodeParams(["id": "m", "inputs": ["x": ["dtype": "f32", "shape": [1, "n"], "data": ""]]])
        }
        let p = try ModelRunRequest.decodeParams(["id": "m", "inputs": ["x": ["dtype": "f32", "shape": [2], "data": "AAAAAAAAAAA="]]])
        #expect(p.inputs?["x"] == .inline(dtype: "f32", shape: [2], data: "AAAAAAAAAAA="))
    }
}
