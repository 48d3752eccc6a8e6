import SegGraph
import SegTensor
import Testing

/// The runtime's Conv, pool and ConvTranspose kernels take every auto_pad mode through the
/// shared `ConvGeometry` (no reference fallback) and agree with the reference interpreter,
/// which reads the same geometry: odd SAME padding on both sides, dilation, ceil_mode.
@Suite struct ConvGeometryRuntimeTests {
    typealias T = TensorOpsPathTests

    @Test(arguments: ["SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"])
    func convRunsFastForEveryAutoPad(mode: String) throws {
        // in 7, k 2, s 2, d 1 on H; k 3, s 1, d 2 on W: the SAME total pads are odd on H.
        let m = T.model([Node(opType: "Conv", inputs: ["x", "w", "b"], outputs: ["y"],
                              attributes: [NamedAttribute("auto_pad", .string(mode)), NamedAttribute("strides", .ints([2, 1])),
                                           NamedAttribute("dilations", .ints([1, 2]))])],
                        inputs: [("x", [1, 3, 7, 7])], outputs: ["y"],
                        initializers: ["w": try T.tensor([4, 3, 2, 3], seed: 1), "b": try T.tensor([4], seed: 2)])
        let kinds = try T().check(m, ["x": try T.tensor([1, 3, 7, 7], seed: 3)], kinds: [])
        #expect(kinds.keys.contains { $0.hasPrefix("Conv") }, "\(kinds)")
    }

    @Test(arguments: ["MaxPool", "AveragePool"], ["SAME_UPPER", "SAME_LOWER"])
    func poolsRunFastWithSamePadding(op: String, mode: String) throws {
        let m = T.model([Node(opType: op, inputs: ["x"], outputs: ["y"],
                              attributes: [NamedAttribute("auto_pad", .string(mode)), NamedAttribute("kernel_shape", .ints([3, 2])),
                                           NamedAttribute("strides", .ints([2, 2]))])],
                        inputs: [("x", [1, 2, 7, 6])], outputs: ["y"])
        try T().check(m, ["x": try T.tensor([1, 2, 7, 6], seed: 4)], kinds: [op])
    }

    @Test func ceilModePoolRunsFast() throws {
        let m = T.model([Node(opType: "MaxPool", inputs: ["x"], outputs: ["y"],
                              attributes: [NamedAttribute("kernel_shape", .ints([2, 2])), NamedAttribute("strides", .ints([2, 2])),
                                           NamedAttribute("pads", .ints([0, 0, 1, 1])), NamedAttribute("ceil_mode", .int(1))])],
                        inputs: [("x", [1, 2, 4, 5])], outputs: ["y"])
        try T().check(m, ["x": try T.tensor([1, 2, 4, 5], seed: 5)], kinds: ["MaxPool"])
    }

    @Test(arguments: ["SAME_UPPER", "SAME_LOWER"])
    func convTransposeWithSameAndOutputShapeRunsFast(mode: String) throws {
        let m = T.model([Node(opType: "ConvTranspose", inputs: ["x", "w"], outputs: ["y"],
                              attributes: [NamedAttribute("auto_pad", .string(mode)), NamedAttribute("strides", .ints([2, 2])),
                                           NamedAttribute("output_shape", .ints([6, 5]))])],
                        inputs: [("x", [1, 2, 3, 3])], outputs: ["y"],
                        initializers: ["w": try T.tensor([2, 3, 3, 3], seed: 6)])
        let kinds = try T().check(m, ["x": try T.tensor([1, 2, 3, 3], seed: 7)], kinds: ["ConvTranspose"])
        #expect(kinds.count == 1)
    }
}
