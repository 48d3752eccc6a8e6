import Foundation
import SegGraph
import SegONNX
import SegReference
import SegTensor
import SegTestSupport
import Testing

/// Timings of the nn kernels at CamVid size (1×C×360×480), printed, never asserted: run with
/// `SEGSLIM_NN_TIMING=1 swift test -c release --filter NNTimingTests`. Also runs the shared
/// LR-ASPP model (../shared/models) end to end.
@Suite struct NNTimingTests {
    typealias H = NNHarness

    static var enabled: Bool { ProcessInfo.processInfo.environment["SEGSLIM_NN_TIMING"] != nil }

    static func time(_ label: String, _ body: () throws -> Void) rethrows {
        let start = Date()
        try body()
        print(String(format: "NNTIMING %-44@ %8.3f s", label as NSString, Date().timeIntervalSince(start)))
    }

    static func random(_ dims: [Int]) throws -> Tensor {
        var state: UInt64 = 0x9E3779B97F4A7C15
        let values = (0..<dims.reduce(1, *)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        return try Tensor(dims: dims, scalars: values)
    }

    @Test(.enabled(if: enabled)) func kernelsAtCamVidSize() throws {
        let pads = NamedAttribute("pads", .ints([1, 1, 1, 1]))
        let image = try Self.random([1, 3, 360, 480])
        try Self.time("Conv 3->16 3x3 s2 on 360x480") {
            _ = try H.run("Conv", opset: 17, [image, try Self.random([16, 3, 3, 3])], constantInputs: [1],
                          attributes: [pads, NamedAttribute("strides", .ints([2, 2]))])
        }
        let x16 = try Self.random([1, 16, 360, 480])
        try Self.time("Conv 16->16 3x3 on 360x480 (0.4 GMAC)") {
            _ = try H.run("Conv", opset: 17, [x16, try Self.random([16, 16, 3, 3]), try Self.random([16])], constantInputs: [1, 2], attributes: [pads])
        }
        try Self.time("Conv depthwise 16 3x3 on 360x480") {
            _ = try H.run("Conv", opset: 17, [x16, try Self.random([16, 1, 3, 3])], constantInputs: [1],
                          attributes: [pads, NamedAttribute("group", .int(16))])
        }
        let x64 = try Self.random([1, 64, 90, 120])
        try Self.time("Conv 64->128 1x1 on 90x120 (0.09 GMAC)") {
            _ = try H.run("Conv", opset: 17, [x64, try Self.random([128, 64, 1, 1])], constantInputs: [1])
        }
        try Self.time("ConvTranspose 64->32 4x4 s2 on 90x120") {
            _ = try H.run("ConvTranspose", opset: 17, [x64, try Self.random([64, 32, 4, 4])], constantInputs: [1],
                          attributes: [pads, NamedAttribute("strides", .ints([2, 2]))])
        }
        try Self.time("MaxPool 3x3 s2 on 16x360x480") {
            _ = try H.run("MaxPool", opset: 12, [x16], attributes: [pads, NamedAttribute("kernel_shape", .ints([3, 3])), NamedAttribute("strides", .ints([2, 2]))])
        }
        try Self.time("Resize linear 11x45x60 -> 360x480") {
            _ = try H.run("Resize", opset: 13, [try Self.random([1, 11, 45, 60]), nil, try H.f32([1, 1, 8, 8])], constantInputs: [2],
                          attributes: [NamedAttribute("mode", .string("linear"))])
        }
    }

    /// Asked for by SEGSLIM_NN_TIMING, so a missing model is a failure, not a silent pass.
    @Test(.enabled(if: enabled)) func sharedModelEndToEnd() throws {
        let path = SharedAssets.path("models/lraspp_mbv3_camvid.onnx")
        try #require(FileManager.default.fileExists(atPath: path), "\(path) is missing")
        let model = try ONNX.load(contentsOf: URL(fileURLWithPath: path))
        let executor = try ReferenceExecutor(model: model)
        let input = try Self.random([1, 3, 360, 480])
        try Self.time("lraspp_mbv3_camvid end to end") { _ = try executor.run(["image": input]) }
    }
}
