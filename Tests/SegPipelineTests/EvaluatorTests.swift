import Foundation
import SegData
import SegGraph
import SegImaging
import SegMetrics
import SegPipeline
import SegReference
import SegRuntime
import SegTensor
import Synchronization
import Testing

/// The Evaluator end to end on two 4×4 images written as a PaddleSeg dataset, with a model
/// whose masks can be worked out by hand: a 1×1 Conv scoring class 0 by the red channel and
/// class 1 by the green one, so red pixels are class 0 and green pixels class 1.
@Suite struct EvaluatorTests {
    let root: URL

    init() throws {
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    /// 4×4 RGB: `green[y][x]` picks pure green, else pure red.
    func image(_ green: (Int, Int) -> Bool) throws -> Image {
        var px: [UInt8] = []
        for y in 0..<4 { for x in 0..<4 { px += green(y, x) ? [0, 255, 0] : [255, 0, 0] } }
        return try Image(width: 4, height: 4, channels: 3, pixels: px)
    }

    func segmenter(compiled: Bool = false, bgr: Bool = false, weights: [Float] = [1, 0, 0, 0, 1, 0]) throws -> Segmenter {
        var g = Graph(name: "red-green")
        g.inputs = [ValueInfo(name: "image", type: TensorType(elementType: .f32, shape: [.value(1), .value(3), .value(4), .value(4)]))]
        g.initializers["w"] = try Tensor(dims: [2, 3, 1, 1], scalars: weights)
        g.nodes = [Node(opType: "Conv", inputs: ["image", "w"], outputs: ["scores"])]
        g.outputs = [ValueInfo(name: "scores")]
        var metadata = ["segslim.mean": "[0, 0, 0]", "segslim.std": "[1, 1, 1]"]
        if bgr { metadata["segslim.channel_order"] = "BGR" }
        let model = Model(graph: g, metadata: metadata)
        let preprocessing = try Preprocessing(model: model, numClasses: 2)
        let runner: any ModelRunner = compiled ? CompiledRunner(model: model) : try ReferenceExecutor(model: model)
        return Segmenter(runner: runner, preprocessing: preprocessing, outputName: "scores")
    }

    /// The compiled runner hands the argmax its scores in the arena (no copy); the mask is the
    /// same as from the reference executor's tensor, and the hand-worked one.
    @Test func compiledRunnerReadsScoresInPlaceWithTheSameMask() throws {
        let picture = try image { y, x in x >= 2 || y == 0 }
        let expected: [UInt8] = (0..<16).map { i in (i % 4 >= 2 || i < 4) ? 1 : 0 }
        let compiled = try segmenter(compiled: true)
        #expect(try compiled.segment(picture).mask.pixels == expected)
        #expect(try segmenter().segment(picture).mask.pixels == expected)
        let x = try compiled.inputs(for: picture)
        let inPlace = try compiled.runner.run(x, isCancelled: { false }, reading: "scores") { view -> Bool in
            if case .floats(_, let dims) = view { return dims == [1, 2, 4, 4] }
            return false
        }
        #expect(inPlace)
    }

    /// A model scoring class 0 by its input's channel 0 and class 1 by channel 2: for an RGB
    /// model red pixels are class 0 and blue ones class 1; a BGR model sees blue in channel 0,
    /// so the two swap (green ties at 0: class 0 either way). The compiled runner writes the
    /// normalised image into its input slot, the reference executor gets a tensor: both must
    /// see the same planes.
    @Test func bgrModelsSeeBlueFirstOnEveryRunner() throws {
        var px: [UInt8] = []
        for i in 0..<16 { px += i % 3 == 0 ? [0, 0, 255] : (i % 3 == 1 ? [0, 255, 0] : [255, 0, 0]) }
        let picture = try Image(width: 4, height: 4, channels: 3, pixels: px)
        let byRed: [Float] = [1, 0, 0, 0, 0, 1]
        let rgbMask: [UInt8] = (0..<16).map { $0 % 3 == 0 ? 1 : 0 }
        let bgrMask: [UInt8] = (0..<16).map { $0 % 3 == 2 ? 1 : 0 }
        for compiled in [true, false] {
            #expect(try segmenter(compiled: compiled, weights: byRed).segment(picture).mask.pixels == rgbMask, "compiled \(compiled)")
            #expect(try segmenter(compiled: compiled, bgr: true, weights: byRed).segment(picture).mask.pixels == bgrMask, "compiled \(compiled)")
        }
    }

    @Test func twoImagesGiveTheHandComputedConfusionAndMIoU() async throws {
        // Image a: columns 0-1 red (class 0), 2-3 green (class 1). Its label agrees except
        // (0, 1), labelled 1, and (3, 3), void.
        try write("img/a.png", try PNG.encode(try image { _, x in x >= 2 }))
        var labelA: [UInt8] = []
        for y in 0..<4 { for x in 0..<4 { labelA.append(y == 3 && x == 3 ? 255 : (x >= 2 || (y == 0 && x == 1)) ? 1 : 0) } }
        try write("lab/a.png", try PNG.encode(try Image(width: 4, height: 4, channels: 1, pixels: labelA)))
        // Image b: all green (class 1); its label says class 0 on the first row.
        try write("img/b.png", try PNG.encode(try image { _, _ in true }))
        let labelB: [UInt8] = (0..<16).map { $0 < 4 ? 0 : 1 }
        try write("lab/b.png", try PNG.encode(try Image(width: 4, height: 4, channels: 1, pixels: labelB)))
        try write("val.txt", Array("img/a.png lab/a.png\nimg/b.png lab/b.png\n".utf8))
        try write("dataset.json", Array(#"{"classes": ["red", "green"], "ignore_index": 255}"#.utf8))

        let dataset = try Dataset.open(path: root.path)
        let counter = ProgressLog()
        let result = try await Evaluator(segmenter: try segmenter(), dataset: dataset)
            .evaluate(split: "val", keepMasks: true, progress: { done, total in counter.add(done, total) })
        #expect(result.images == 2)
        #expect(counter.calls == [[1, 2], [2, 2]])
        #expect(result.masks.map(\.pixels) == [(0..<16).map { UInt8($0 % 4 >= 2 ? 1 : 0) }, [UInt8](repeating: 1, count: 16)])

        // Counted pixels (void skipped): label 0 → predicted 0: 7 (a), → 1: 4 (b's first row);
        // label 1 → predicted 0: 1 (a's (0, 1)), → 1: 7 (a) + 12 (b) = 19. 31 in all.
        // IoU0 = 7 / (7 + 4 + 1) = 7/12, IoU1 = 19 / (19 + 1 + 4) = 19/24, mIoU = 33/48.
        let m = result.metrics
        #expect(m.pixels == 31)
        #expect(abs(m.classIoU[0] - 7.0 / 12) < 1e-12 && abs(m.classIoU[1] - 19.0 / 24) < 1e-12)
        #expect(abs(m.miou - 33.0 / 48) < 1e-12)
        #expect(abs(m.pixelAccuracy - 26.0 / 31) < 1e-12)

        let limited = try await Evaluator(segmenter: try segmenter(), dataset: dataset).evaluate(split: "val", limit: 1)
        // Image a alone: IoU0 = 7 / (7 + 1) , IoU1 = 7 / (7 + 1).
        #expect(limited.images == 1 && abs(limited.metrics.miou - 7.0 / 8) < 1e-12)
    }

    @Test func aSplitWithoutLabelsIsRefused() async throws {
        try write("img/a.png", try PNG.encode(try image { _, _ in true }))
        try write("val.txt", Array("img/a.png\n".utf8))
        let dataset = try Dataset.open(path: root.path)
        await #expect(throws: DatasetError.self) {
            _ = try await Evaluator(segmenter: try segmenter(), dataset: dataset).evaluate(split: "val")
        }
    }
}

/// Progress calls, recorded from the evaluator's callback.
final class ProgressLog: Sendable {
    private let log = Mutex<[[Int]]>([])
    func add(_ done: Int, _ total: Int) { log.withLock { $0.append([done, total]) } }
    var calls: [[Int]] { log.withLock { $0 } }
}
