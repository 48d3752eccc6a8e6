import SegGraph
import SegPipeline
import SegTensor
import Testing

/// `Preprocessing` read from a model's `segslim.*` metadata: each key's effect, each key's
/// refusal (naming the key), the defaults, and overrides winning over the file.
@Suite struct PreprocessingTests {
    /// A model with one [1, 3, H, W] input (dims nil: symbolic H, W) and the given metadata.
    func model(height: Int? = 64, width: Int? = 96, metadata: [String: String] = [:]) -> Model {
        var g = Graph(name: "p")
        let hw: [Dimension] = [height.map { .value($0) } ?? .param("H"), width.map { .value($0) } ?? .param("W")]
        g.inputs = [ValueInfo(name: "image", type: TensorType(elementType: .f32, shape: [.value(1), .value(3)] + hw))]
        g.nodes = [Node(opType: "Identity", inputs: ["image"], outputs: ["y"])]
        g.outputs = [ValueInfo(name: "y")]
        var prefixed: [String: String] = [:]
        for (k, v) in metadata { prefixed["segslim." + k] = v }
        return Model(graph: g, metadata: prefixed)
    }

    func error(_ metadata: [String: String], height: Int? = 64) -> PipelineError? {
        do { _ = try Preprocessing(model: model(height: height, metadata: metadata), numClasses: 2) } catch { return error }
        return nil
    }

    /// The key a metadata error names, nil for success or another error.
    func failingKey(_ metadata: [String: String], height: Int? = 64) -> String? {
        if case .metadata(let key, _) = error(metadata, height: height) { return key }
        return nil
    }

    @Test func defaultsComeFromTheInputAndImageNet() throws {
        let p = try Preprocessing(model: model(), numClasses: 3)
        #expect(p.inputName == "image")
        #expect(p.inputSize?.height == 64 && p.inputSize?.width == 96)
        #expect(p.resize == .stretch)
        #expect(p.mean == [0.485, 0.456, 0.406] && p.std == [0.229, 0.224, 0.225])
        #expect(p.scale == 1 / 255 && !p.bgr)
        #expect(p.classes == ["class 0", "class 1", "class 2"])
        // VOC's colour map from its second entry: class 0 is visible (not black).
        #expect(p.palette == [[128, 0, 0], [0, 128, 0], [128, 128, 0]])
        #expect(p.ignoreIndex == 255)
    }

    @Test func aDynamicInputRunsAtTheImageSize() throws {
        let p = try Preprocessing(model: model(height: nil, width: nil), numClasses: 2)
        #expect(p.inputSize == nil && p.resize == .none)
        // Asking to stretch without a size is refused, naming the key to set.
        #expect(failingKey(["resize": "stretch"], height: nil) == "resize")
        let sized = try Preprocessing(model: model(height: nil, width: nil, metadata: ["input_size": "32, 48"]), numClasses: 2)
        #expect(sized.inputSize?.height == 32 && sized.inputSize?.width == 48 && sized.resize == .stretch)
    }

    @Test func everyKeyIsRead() throws {
        let p = try Preprocessing(model: model(metadata: [
            "input_size": "128,256", "resize": "none", "mean": "[0.5, 0.5, 0.5]", "std": "[0.25, 0.5, 1]",
            "scale": "1", "channel_order": "bgr", "classes": #"["road", "sky"]"#,
            "palette": "[[1, 2, 3], [250, 251, 252]]", "ignore_index": "0",
        ]), numClasses: 7)
        #expect(p.inputSize?.height == 128 && p.inputSize?.width == 256)
        #expect(p.resize == .none)
        #expect(p.mean == [0.5, 0.5, 0.5] && p.std == [0.25, 0.5, 1])
        #expect(p.scale == 1 && p.bgr)
        #expect(p.classes == ["road", "sky"], "named classes win over the output's class count")
        #expect(p.palette == [[1, 2, 3], [250, 251, 252]])
        #expect(p.ignoreIndex == 0)
    }

    @Test func overridesWinOverTheFile() throws {
        let m = model(metadata: ["channel_order": "BGR", "scale": "2"])
        let p = try Preprocessing(model: m, numClasses: 2, overrides: ["channel_order": "RGB"])
        #expect(!p.bgr && p.scale == 2)
    }

    @Test(arguments: [
        (["input_size": "0,5"], "input_size"), (["input_size": "64"], "input_size"), (["input_size": "a,b"], "input_size"),
        (["input_size": "1,2,3"], "input_size"), (["input_size": "20000,5"], "input_size"),
        (["resize": "crop"], "resize"),
        (["mean": "0.5"], "mean"), (["std": "[1, \"a\", 1]"], "std"),
        (["mean": "[0.5, 0.5]"], "mean/std"), (["std": "[1, 0, 1]"], "mean/std"),
        (["scale": "-1"], "scale"), (["scale": "half"], "scale"),
        (["channel_order": "GBR"], "channel_order"),
        (["classes": "[1, 2]"], "classes"), (["classes": "road"], "classes"),
        (["palette": "[[1, 2]]"], "palette"), (["palette": "[[0, 0, 256]]"], "palette"),
        (["ignore_index": "300"], "ignore_index"), (["ignore_index": "void"], "ignore_index"),
    ])
    func badValuesAreRefusedNamingTheKey(metadata: [String: String], key: String) {
        #expect(failingKey(metadata) == key)
    }

    @Test func aModelWithoutRuntimeInputIsRefused() {
        var m = model()
        m.graph.inputs = []
        var failure: PipelineError?
        do { _ = try Preprocessing(model: m, numClasses: 2) } catch { failure = error }
        guard case .model = failure else { Issue.record("expected a model error, got \(String(describing: failure))"); return }
    }

    @Test func itsMetadataReproducesIt() throws {
        let p = try Preprocessing(model: model(metadata: ["channel_order": "BGR", "mean": "[0.1, 0.2, 0.3]", "classes": #"["a", "b"]"#]),
                                  numClasses: 2)
        let again = try Preprocessing(model: Model(graph: model(height: nil, width: nil).graph, metadata: p.metadata), numClasses: 9)
        #expect(again == p)
    }
}
