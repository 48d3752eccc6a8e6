/// A resident model as `model/load` and `model/info` describe it.
public struct ModelDescription: Codable, Sendable, Equatable {
    /// The id it is resident under.
    public var id: String
    /// Absolute path it was loaded from (null for a compressed model not written to disk).
    @EncodesNull public var path: String?
    /// Runtime inputs (initializers excluded), in graph order.
    public var inputs: [TensorDescription]
    public var outputs: [TensorDescription]
    /// Imported opset version per domain (`ai.onnx` for the default domain).
    public var opsets: [String: Int]
    /// Elements in initializers.
    public var params: Int64
    /// Multiply-accumulates per run of Conv/ConvTranspose/Gemm/MatMul with known shapes.
    public var macs: Int64
    public var opCounts: [String: Int]
    /// Size of the file.
    public var sizeBytes: Int64
    /// What the model counts against the memory budget.
    public var residentBytes: Int64
    /// ONNX metadata_props.
    public var metadata: [String: String]
    /// `producer_name producer_version`.
    public var producer: String
    /// How images become its input; null when it is not an image model.
    @EncodesNull public var preprocessing: PreprocessingDescription?
    /// E.g. a declared output shape that disagrees with inference.
    public var warnings: [String]

    public init(id: String, path: String?, inputs: [TensorDescription], outputs: [TensorDescription], opsets: [String: Int],
                params: Int64, macs: Int64, opCounts: [String: Int], sizeBytes: Int64, residentBytes: Int64,
                metadata: [String: String], producer: String, preprocessing: PreprocessingDescription?, warnings: [String]) {
        self.id = id
        self.path = path
        self.inputs = inputs
        self.outputs = outputs
        self.opsets = opsets
        self.params = params
        self.macs = macs
        self.opCounts = opCounts
        self.sizeBytes = sizeBytes
        self.residentBytes = residentBytes
        self.metadata = metadata
        self.producer = producer
        self.preprocessing = preprocessing
        self.warnings = warnings
    }
}

/// A graph input or output.
public struct TensorDescription: Codable, Sendable, Equatable {
    public var name: String
    /// `f32`, `i64`, ...; null when the model does not say.
    @EncodesNull public var dtype: String?
    /// Null when the rank is unknown.
    @EncodesNull public var shape: [Dimension]?

    public init(name: String, dtype: String?, shape: [Dimension]?) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    /// A number, a symbolic name (`"batch"`), or `"?"`.
    public enum Dimension: Codable, Sendable, Equatable, JSONNamedType {
        case value(Int)
        case name(String)

        public static var jsonTypeName: String { "an integer or a string" }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .value(i) } else { self = .name(try c.decode(String.self)) }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .value(let i): try c.encode(i)
            case .name(let s): try c.encode(s)
            }
        }
    }
}

/// How an image becomes the model's input, and how its mask is coloured.
public struct PreprocessingDescription: Codable, Sendable, Equatable {
    /// The input it feeds.
    public var input: String
    /// `[height, width]`, or null when the input takes any size.
    @EncodesNull public var inputSize: [Int]?
    /// How an image is fitted to `inputSize`.
    public var resize: String
    public var mean: [Double]
    public var std: [Double]
    /// Pixel values are multiplied by this before mean/std.
    public var scale: Double
    /// `RGB` or `BGR`.
    public var channelOrder: String
    public var classes: [String]
    /// One `[r, g, b]` per class.
    public var palette: [[Int]]
    /// Label value that is not scored.
    public var ignoreIndex: Int
    /// How outputs become the class map: `class_scores` (argmax of a [1, classes, H, W] output,
    /// or its class ids) or `mask_classification` (class logits [1, Q, classes+1] × mask logits
    /// [1, Q, h, w], Mask2Former's semantic inference). Absent from older servers.
    public var head: String?
    /// The outputs the head reads, in that order (`[scores]`, or `[class logits, mask logits]`).
    public var headOutputs: [String]?
    /// For `mask_classification`: whether `segslim.task` declared it (else recognised by shape).
    public var headDeclared: Bool?

    public init(input: String, inputSize: [Int]?, resize: String, mean: [Double], std: [Double], scale: Double,
                channelOrder: String, classes: [String], palette: [[Int]], ignoreIndex: Int,
                head: String? = nil, headOutputs: [String]? = nil, headDeclared: Bool? = nil) {
        self.head = head
        self.headOutputs = headOutputs
        self.headDeclared = headDeclared
        self.input = input
        self.inputSize = inputSize
        self.resize = resize
        self.mean = mean
        self.std = std
        self.scale = scale
        self.channelOrder = channelOrder
        self.classes = classes
        self.palette = palette
        self.ignoreIndex = ignoreIndex
    }
}
