import SegGraph
import SegImaging
import SegPipeline
import SegReference
import SegTensor
import Testing

/// `segslim.resize: pad`: the image scaled to fit the model's fixed input with its aspect ratio
/// kept, zeros below and right, and the outputs cropped to the image's part before they go
/// back to the image's size. Hand-made Identity models (scores = the normalised pixels), so
/// every expected mask is worked out from the pixels.
@Suite struct PaddingTests {
    static let red: [UInt8] = [255, 0, 0], green: [UInt8] = [0, 255, 0], blue: [UInt8] = [0, 0, 255]

    /// x [1, 3, h, w] → Identity: three class planes, the pixels as they are (mean 0, std 1,
    /// scale 1); images go in at 4×4 (dynamic dims, so sliding windows can run smaller).
    static func identity(resize: String) throws -> Segmenter {
        let (m, s) = try ImageModelTests.model([(.f32, ImageModelTests.nchw)], metadata: [
            "segslim.mean": "[0, 0, 0]", "segslim.std": "[1, 1, 1]", "segslim.scale": "1", "segslim.resize": resize,
            "segslim.input_size": "4,4",
        ])
        let pre = try #require(try ImageModel.preprocessing(m, summary: s))
        return try Segmenter(imageModel: m, runner: try ReferenceExecutor(model: m), preprocessing: pre)
    }

    @Test func geometryKeepsTheAspectRatio() throws {
        let pre = try Self.identity(resize: "pad").preprocessing
        #expect(pre.resize == .pad)
        // 2×4 fits 4×4 at scale 1; 4×8 and 8×2 at scale 1/2.
        #expect(pre.inputGeometry(height: 2, width: 4).content == (2, 4))
        #expect(pre.inputGeometry(height: 4, width: 8).content == (2, 4))
        #expect(pre.inputGeometry(height: 8, width: 2).content == (4, 1))
        #expect(pre.inputGeometry(height: 8, width: 2).input == (4, 4))
        // CamVid into Mask2Former's 256×320: width decides (320/480 < 256/360).
        var big = pre
        big.inputSize = (256, 320)
        #expect(big.inputGeometry(height: 360, width: 480).content == (240, 320))
        // Stretch fills the input; none runs at the image's size.
        #expect(try Self.identity(resize: "stretch").preprocessing.inputGeometry(height: 2, width: 4).content == (4, 4))
    }

    @Test func theInputIsTheImageAtTheTopLeftAndZerosElsewhere() throws {
        let s = try Self.identity(resize: "pad")
        let image = try Image(width: 4, height: 2, channels: 3, pixels: [Self.red, Self.green, Self.blue, Self.red,
                                                                           Self.green, Self.blue, Self.red, Self.green].flatMap { $0 })
        let x = try #require(try s.inputs(for: image)["x0"])
        #expect(x.dims == [1, 3, 4, 4])
        let v = try x.scalars(as: Float.self)
        // Red plane: rows 0-1 are the image's R, rows 2-3 zeros.
        #expect(Array(v[0..<16]) == [255, 0, 0, 255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        // The class map is the image's own, at its own size.
        let (mask, _) = try s.segment(image)
        #expect(mask.width == 4 && mask.height == 2)
        #expect(mask.pixels == [0, 1, 2, 0, 1, 2, 0, 1])
    }

    /// A 4×8 image (left half red, right half green) goes in at 2×4 over the top half. Cropped,
    /// every row of the map is red then green; had the zero rows been kept and stretched back,
    /// the map's bottom half would be class 0 (the argmax of zeros) throughout.
    @Test func outputsAreCroppedBeforeTheyGoBackToTheImagesSize() throws {
        let row = Array(repeating: Self.red, count: 4).flatMap { $0 } + Array(repeating: Self.green, count: 4).flatMap { $0 }
        let image = try Image(width: 8, height: 4, channels: 3, pixels: Array(repeating: row, count: 4).flatMap { $0 })
        let (mask, _) = try Self.identity(resize: "pad").segment(image)
        #expect(mask.width == 8 && mask.height == 4)
        #expect(mask.pixels == Array(repeating: [0, 0, 0, 0, 1, 1, 1, 1] as [UInt8], count: 4).flatMap { $0 })
        // Sliding windows over the padded input crop the same way.
        let (slid, _) = try Self.identity(resize: "pad").segment(image, slide: .init(crop: (2, 2), stride: (2, 2)))
        #expect(slid.pixels == mask.pixels)
    }

    /// Mask-classification outputs (mask logits at the input's size here) are cropped too: a
    /// dark green (G = 3) 1×2 image fills the top row of the 2×2 input. With the scores of
    /// MaskClassificationTests, class 1 wins where sigmoid(G) > 0.875, i.e. G > 1.95: the
    /// image's row gives class 1, but kept and averaged with the zero row below (G = 1.5) it
    /// would give class 0.
    @Test func maskLogitsAreCropped() throws {
        var m = try MaskClassificationTests.model(declared: true)
        m.metadata["segslim.resize"] = "pad"
        let s = try MaskClassificationTests.segmenter(m)
        let green = try Image(width: 2, height: 1, channels: 3, pixels: [0, 3, 0, 0, 3, 0])
        let (mask, _) = try s.segment(green)
        #expect(mask.width == 2 && mask.height == 1)
        #expect(mask.pixels == [1, 1])
    }

    @Test func unknownResizeModesAndPaddingWithoutASizeAreErrors() throws {
        #expect(throws: PipelineError.metadata("resize", "expected stretch, pad or none, got \"letterbox\"")) {
            try Self.identity(resize: "letterbox")
        }
        let (m, s) = try ImageModelTests.model([(.f32, ImageModelTests.nchw)], metadata: ["segslim.resize": "pad"])
        #expect(throws: PipelineError.self) { try ImageModel.preprocessing(m, summary: s) }
    }
}
