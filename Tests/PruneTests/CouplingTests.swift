@testable import Prune
import SegGraph
import SegReference
import SegTensor
import Testing

/// One hand-built graph per coupling pattern, pruned at 50% (roundTo 1): weight shapes are
/// checked against hand-computed ones, and the pruned network must equal the original with the
/// pruned channels' activations masked to zero (reference executor, rtol 1e-4).
@Suite struct CouplingTests {
    @Test func residualAddPrunesBothBranchesAlike() throws {
        var b = Builder()
        let a = b.op("Relu", [b.conv("c1", "x", 4, 8)])[0]
        let s = b.op("Add", [a, b.conv("c2", a, 8, 8, k: 3)])[0]
        let y = b.conv("head", s, 8, 3)
        let model = b.model(output: y)
        let (out, kept, graph) = try prune(model)
        // c1 and c2 write the same 8 channels (the Add): one group, 4 kept.
        #expect(graph.groups.map(\.name) == ["c1"])
        #expect(dims(out, "c1") == [4, 4, 1, 1])
        #expect(dims(out, "c2") == [4, 4, 3, 3])
        #expect(dims(out, "head") == [3, 4, 1, 1])
        #expect(kept[y] == nil)  // class scores are a model output
        try expectSameOutputs(out, try masked(graph.model, kept: kept, channels: graph.channels), input: try input())
    }

    @Test func concatBranchesArePrunedWithOffsets() throws {
        var b = Builder()
        let p = b.conv("c1", "x", 4, 6)
        let q = b.conv("c2", "x", 4, 10)
        let cat = b.op("Concat", [p, q], [NamedAttribute("axis", .int(1))])[0]
        let up = b.op("Resize", [b.op("Relu", [cat])[0], "", b.constant("scales", try Tensor(dims: [4], scalars: [Float(1), 1, 2, 2]))])[0]
        let y = b.conv("head", up, 16, 3)
        let (out, kept, graph) = try prune(b.model(output: y))
        #expect(Set(graph.groups.map(\.name)) == ["c1", "c2"])
        #expect(dims(out, "c1") == [3, 4, 1, 1])
        #expect(dims(out, "c2") == [5, 4, 1, 1])
        #expect(dims(out, "head") == [3, 8, 1, 1])
        // Channel j of c2 is channel 6 + j of the concat: the kept sets must agree through the offset.
        let keptQ = try #require(kept[q])
        #expect(try #require(kept[cat]).filter { $0 >= 6 } == keptQ.map { $0 + 6 })
        try expectSameOutputs(out, try masked(graph.model, kept: kept, channels: graph.channels), input: try input())
    }

    @Test func depthwiseConvKeepsItsGroupsInStep() throws {
        var b = Builder()
        let e = b.op("Relu", [b.bn("bn1", b.conv("expand", "x", 4, 8), 8)])[0]
        let d = b.op("Relu", [b.bn("bn2", b.conv("dw", e, 8, 8, k: 3, group: 8), 8)])[0]
        let y = b.conv("head", b.conv("project", d, 8, 6), 6, 3)
        let (out, kept, graph) = try prune(b.model(output: y))
        #expect(graph.groups.map(\.name) == ["expand", "project"])
        #expect(dims(out, "expand") == [4, 4, 1, 1])
        #expect(dims(out, "dw") == [4, 1, 3, 3])
        #expect(out.graph.nodes.first { $0.name == "dw" }?[attribute: "group"]?.intValue == 4)
        #expect(dims(out, "bn2") == [4])
        #expect(dims(out, "project") == [3, 4, 1, 1])
        #expect(dims(out, "head") == [3, 3, 1, 1])
        try expectSameOutputs(out, try masked(graph.model, kept: kept, channels: graph.channels), input: try input())
    }

    @Test func squeezeExciteCouplesTheGateWithTheFeatures() throws {
        var b = Builder()
        let f = b.op("Relu", [b.conv("c1", "x", 4, 8)])[0]
        let pooled = b.op("GlobalAveragePool", [f])[0]
        let squeeze = b.op("Relu", [b.conv("se1", pooled, 8, 4)])[0]
        let gate = b.op("HardSigmoid", [b.conv("se2", squeeze, 4, 8)])[0]
        let y = b.conv("head", b.op("Mul", [f, gate])[0], 8, 3)
        let (out, kept, graph) = try prune(b.model(output: y))
        // se2 writes the gate that multiplies c1's channels: one group; se1's squeeze is its own.
        #expect(graph.groups.map(\.name) == ["c1", "se1"])
        #expect(graph.groups[0].producerNodes.sorted() == ["c1", "se2"])
        #expect(dims(out, "c1") == [4, 4, 1, 1])
        #expect(dims(out, "se1") == [2, 4, 1, 1])
        #expect(dims(out, "se2") == [4, 2, 1, 1])
        #expect(dims(out, "head") == [3, 4, 1, 1])
        try expectSameOutputs(out, try masked(graph.model, kept: kept, channels: graph.channels), input: try input())
    }

    @Test func splitPartsArePrunedSeparatelyAndSizesFollow() throws {
        var b = Builder()
        let f = b.conv("c1", "x", 4, 8)
        let parts = b.op("Split", [f, b.constant("sizes", try Tensor(dims: [2], scalars: [Int64(3), 5]))], name: "split", outputs: 2,
                         [NamedAttribute("axis", .int(1))])
        let s = b.op("Add", [b.conv("cp", parts[0], 3, 4), b.conv("cq", parts[1], 5, 4)])[0]
        let y = b.conv("head", s, 4, 3)
        let (out, kept, graph) = try prune(b.model(output: y))
        // Channels 0..<3 and 3..<8 of c1 reach different convs: two groups of c1 (3 → 2, 5 → 3).
        #expect(graph.groups.count == 3)
        #expect(dims(out, "c1") == [5, 4, 1, 1])
        #expect(dims(out, "cp") == [2, 2, 1, 1])
        #expect(dims(out, "cq") == [2, 3, 1, 1])
        #expect(dims(out, "head") == [3, 2, 1, 1])
        let split = try #require(out.graph.nodes.first { $0.name == "split" })
        #expect(try out.graph.initializers[split.inputs[1]]?.scalars(as: Int64.self) == [2, 3])
        try expectSameOutputs(out, try masked(graph.model, kept: kept, channels: graph.channels), input: try input())
    }

    @Test func channelSliceMovesItsBoundsWithThePrunedChannels() throws {
        var b = Builder()
        let f = b.op("Relu", [b.conv("c1", "x", 4, 8)])[0]
        let r = b.op("Slice", [f, b.constant("starts", try Tensor(dims: [1], scalars: [Int64(2)])),
                               b.constant("ends", try Tensor(dims: [1], scalars: [Int64(6)])),
                               b.constant("axes", try Tensor(dims: [1], scalars: [Int64(1)]))], name: "slice")[0]
        let s = b.op("Add", [b.conv("cr", r, 4, 4), b.conv("cf", f, 8, 4)])[0]
        let y = b.conv("head", s, 4, 3)
        let (out, kept, graph) = try prune(b.model(output: y))
        #expect(dims(out, "c1") == [4, 4, 1, 1])
        #expect(dims(out, "cr") == [2, 2, 1, 1])
        #expect(dims(out, "cf") == [2, 4, 1, 1])
        let keptF = try #require(kept[f])
        let slice = try #require(out.graph.nodes.first { $0.name == "slice" })
        let start = Int64(keptF.filter { $0 < 2 }.count)
        #expect(try out.graph.initializers[slice.inputs[1]]?.scalars(as: Int64.self) == [start])
        #expect(try out.graph.initializers[slice.inputs[2]]?.scalars(as: Int64.self) == [start + 2])
        try expectSameOutputs(out, try masked(graph.model, kept: kept, channels: graph.channels), input: try input())
    }

    /// torchscript shares equal biases through Identity nodes; each conv must get its own slice
    /// and the untouched Identity must come back.
    @Test func identitySharedBiasesArePrunedPerConv() throws {
        var b = Builder()
        let f = b.op("Relu", [b.conv("c1", "x", 4, 8)])[0]
        let shared = b.constant("shared_bias", b.random([8]))
        let alias = b.op("Identity", [shared], name: "alias")[0]
        let g = b.op("Conv", [f, b.constant("c2.w", b.random([8, 8, 1, 1])), alias], name: "c2")[0]
        let h = b.op("Conv", [b.op("Relu", [g])[0], b.constant("c3.w", b.random([8, 8, 1, 1])), shared], name: "c3")[0]
        let y = b.conv("head", b.op("Relu", [h])[0], 8, 3)
        let (out, kept, graph) = try prune(b.model(output: y))
        #expect(dims(out, "c2", input: 2) == [4])
        #expect(dims(out, "c3", input: 2) == [4])
        try expectSameOutputs(out, try masked(graph.model, kept: kept, channels: graph.channels), input: try input())
        // Not pruned at all: the Identity is restored and the model keeps its parameter count.
        let graph0 = try ChannelGraph(model: b.model(output: y))
        let same = try graph0.rewrite(kept: [:])
        #expect(same.graph.nodes.contains { $0.name == "alias" && $0.opType == "Identity" })
        #expect(same.graph.initializers.count == b.initializers.count)
    }

    @Test func operatorsWithoutAChannelRuleBlockTheirValues() throws {
        var b = Builder()
        let f = b.conv("c1", "x", 4, 8)
        let g = b.conv("c2", "x", 4, 8)
        let flat = b.op("Reshape", [g, b.constant("shape", try Tensor(dims: [4], scalars: [Int64(1), 8, 6, 6]))])[0]
        let y = b.op("Add", [b.conv("h1", f, 8, 3), b.conv("h2", flat, 8, 3)])[0]
        let (out, _, graph) = try prune(b.model(output: y))
        #expect(graph.groups.map(\.name) == ["c1"])
        #expect(graph.blockReasons[g]?.contains("Reshape") == true)
        #expect(dims(out, "c1") == [4, 4, 1, 1])
        #expect(dims(out, "c2") == [8, 4, 1, 1])
    }
}
