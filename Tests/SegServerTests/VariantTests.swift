import Foundation
import SegProtocol
@testable import SegServer
import Testing

/// Light mode: the variant choice by hand-computed cases, and `model/variants` with
/// `model/segment {variant}` through the server on the tiny fixture.
@Suite struct VariantTests {
    static let family = VariantChoice(members: [
        .init(id: "fp32", expectedMs: 20, miou: 0.56),
        .init(id: "int8", expectedMs: 12, miou: 0.555),
        .init(id: "pruned", expectedMs: 9, miou: 0.54),
        .init(id: "student", expectedMs: 5, miou: 0.50),
    ])

    @Test func namedPoliciesPickByAccuracyAndSpeed() throws {
        #expect(Self.family.accurate == 0)
        #expect(Self.family.fastest == 3)
        #expect(try Self.family.choose(policy: "accurate", waitedMs: 1000, behind: 0, targetMs: nil, minMiou: nil) == 0)
        #expect(try Self.family.choose(policy: "fastest", waitedMs: 0, behind: 0, targetMs: nil, minMiou: nil) == 3)
        #expect(try Self.family.choose(policy: "pruned", waitedMs: 0, behind: 0, targetMs: nil, minMiou: nil) == 2)
        #expect(throws: VariantChoice.Failure.unknownVariant("nope")) { try Self.family.choose(policy: "nope", waitedMs: 0, behind: 0, targetMs: nil, minMiou: nil) }
    }

    @Test func autoLeavesRoomForTheRequestsQueuedBehind() throws {
        // Target 40 ms (twice the accurate one). Alone, the accurate one fits: 0 + 20 ≤ 40.
        #expect(try Self.family.choose(policy: "auto", waitedMs: 0, behind: 0, targetMs: nil, minMiou: nil) == 0)
        // Five behind, each given the fastest member's 5 ms: 20 + 25 > 40, 12 + 25 ≤ 40 → INT8.
        #expect(try Self.family.choose(policy: "auto", waitedMs: 0, behind: 5, targetMs: nil, minMiou: nil) == 1)
        // Waited 10 with four behind: 10 + 12 + 20 > 40, 10 + 9 + 20 ≤ 40 → pruned.
        #expect(try Self.family.choose(policy: "auto", waitedMs: 10, behind: 4, targetMs: nil, minMiou: nil) == 2)
        // Nothing fits: the fastest.
        #expect(try Self.family.choose(policy: "auto", waitedMs: 100, behind: 0, targetMs: nil, minMiou: nil) == 3)
        // An accuracy floor excludes the student even when nothing else fits.
        #expect(try Self.family.choose(policy: "auto", waitedMs: 100, behind: 0, targetMs: nil, minMiou: 0.54) == 2)
        #expect(throws: VariantChoice.Failure.noneAccurateEnough(0.9)) {
            try Self.family.choose(policy: "auto", waitedMs: 0, behind: 0, targetMs: nil, minMiou: 0.9)
        }
        // An explicit target.
        #expect(try Self.family.choose(policy: "auto", waitedMs: 0, behind: 0, targetMs: 10, minMiou: nil) == 2)
    }

    @Test func unscoredFamiliesRankTheSourceFirstThenTheSlower() {
        let f = VariantChoice(members: [.init(id: "src", expectedMs: 20, miou: nil), .init(id: "a", expectedMs: 5, miou: nil),
                                        .init(id: "b", expectedMs: 11, miou: nil)])
        #expect(f.byAccuracy == [0, 2, 1])
        // Equal scores keep family order: the source stays the accurate one.
        let tie = VariantChoice(members: [.init(id: "src", expectedMs: 20, miou: 0.5), .init(id: "int8", expectedMs: 9, miou: 0.5)])
        #expect(tie.accurate == 0)
    }

    static func message(_ reply: JSONValue) -> String { reply["error"]?["message"]?.stringValue ?? "" }

    @Test func familiesServeSegmentRequestsAndSayWhichMemberAnswered() async throws {
        let c = TestClient()
        try await c.initialize()
        let fixture = ModelMethodTests.fixture
        _ = try await c.call(1, "model/load", ["path": .string(fixture("tiny_conv_seg.onnx")), "id": "m"])
        let q = try await c.call(2, "model/compress", ["id": "m", "technique": "quantize", "newId": "m-int8", "benchmarkRuns": 0,
                                                       "dataset": .string(fixture("tinyseg"))])
        try #require(q["result"] != nil, "\(q)")
        let image = JSONValue.string(fixture("tinyseg") + "/images/s0.png")

        // Listing a model that has no family lists nothing and makes none.
        let empty = try await c.call(30, "model/variants", ["id": "m"])
        #expect(empty["result"]?["members"] == [], "\(empty)")
        // Before a family exists, asking for a variant is a clear error.
        let none = try await c.call(3, "model/segment", ["id": "m", "images": [image], "variant": "fastest"])
        #expect(Self.message(none).contains("no variants"), "\(none)")

        let v = try await c.call(4, "model/variants", ["id": "m", "set": ["m-int8"], "dataset": .string(fixture("tinyseg")),
                                                       "benchmarkRuns": 3, "inputShape": [1, 3, 6, 9]])
        let members = try #require(v["result"]?["members"]?.arrayValue, "\(v)")
        #expect(members.map { $0["id"]?.stringValue ?? "" } == ["m", "m-int8"])
        #expect(members.allSatisfy { $0["miou"]?.doubleValue != nil && ($0["latencyMs"]?.doubleValue ?? 0) > 0 })
        #expect(members.filter { $0["accurate"] == true }.count == 1 && members.filter { $0["fastest"] == true }.count == 1)

        // "accurate" is by mIoU (family order on a tie); "fastest" follows the times requests
        // actually take, which move, so only its report is checked here (VariantChoice's cases
        // pin the rule).
        for (i, policy) in ["accurate", "fastest", "m-int8"].enumerated() {
            let r = try await c.call(Int64(10 + i), "model/segment", ["id": "m", "images": [image], "variant": .string(policy)])
            let served = try #require(r["result"]?["variant"], "\(r)")
            #expect(served["policy"]?.stringValue == (policy == "m-int8" ? "id" : policy))
            #expect(["m", "m-int8"].contains(served["id"]?.stringValue ?? ""))
            if policy != "fastest" {
                let expected = policy == "m-int8" ? "m-int8" : members.first { $0["accurate"] == true }?["id"]?.stringValue
                #expect(served["id"]?.stringValue == expected, "\(policy): \(served)")
            }
        }
        // A lone auto request with a generous target is answered by the accurate member.
        let lone = try await c.call(20, "model/segment", ["id": "m-int8", "images": [image], "variant": "auto", "maxLatencyMs": 60000])
        #expect(lone["result"]?["variant"]?["id"]?.stringValue == members.first { $0["accurate"] == true }?["id"]?.stringValue)
        // Bad requests.
        let unknown = try await c.call(21, "model/segment", ["id": "m", "images": [image], "variant": "nope"])
        #expect(Self.message(unknown).contains("'nope'"))
        let floor = try await c.call(22, "model/segment", ["id": "m", "images": [image], "minMiou": 1])
        #expect(Self.message(floor).contains("params.minMiou"))
        let missing = try await c.call(23, "model/variants", ["id": "m", "add": ["ghost"]])
        #expect(Self.message(missing).contains("ghost"))
        // Unloading a member drops it from the family.
        _ = try await c.call(24, "model/unload", ["id": "m-int8"])
        let after = try await c.call(25, "model/variants", ["id": "m"])
        #expect(after["result"]?["members"]?.arrayValue?.map { $0["id"]?.stringValue ?? "" } == ["m"])
    }
}
