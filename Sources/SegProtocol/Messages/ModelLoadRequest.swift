/// `model/load {path, id?, preprocessing?}`: read an ONNX file, check every node is supported,
/// infer shapes, and keep it resident. Result: the model's description.
public enum ModelLoadRequest: RPCRequest {
    public static let method = "model/load"

    public struct Params: Codable, Sendable, Equatable {
        /// The .onnx file (relative paths resolve against the daemon's working directory).
        public var path: String
        /// Id to register under, 1 to 200 characters; default: the file's stem, made unique.
        public var id: String?
        /// Overrides of the model's `segslim.*` preprocessing metadata.
        public var preprocessing: PreprocessingOverrides?
        /// Answer with the model already resident from this path (default false: load another
        /// copy). When the file changed since it was read (size, modification time or inode),
        /// it is read again and replaces that model under the same id.
        public var reuse: Bool?

        public init(path: String, id: String? = nil, preprocessing: PreprocessingOverrides? = nil, reuse: Bool? = nil) {
            self.path = path
            self.id = id
            self.preprocessing = preprocessing
            self.reuse = reuse
        }
    }

    public typealias Result = ModelDescription
}

/// `model/load`'s `preprocessing`: the `segslim.*` metadata keys without the prefix, each value
/// as JSON (`{"mean": [0.5, 0.5, 0.5], "channel_order": "BGR", "input_size": [512, 1024]}`).
public struct PreprocessingOverrides: Codable, Sendable, Equatable {
    /// `[height, width]`.
    public var inputSize: JSONValue?
    /// `stretch`, `pad` or `none`.
    public var resize: JSONValue?
    public var mean: JSONValue?
    public var std: JSONValue?
    public var scale: JSONValue?
    /// `RGB` or `BGR`.
    public var channelOrder: JSONValue?
    public var classes: JSONValue?
    public var palette: JSONValue?
    public var ignoreIndex: JSONValue?

    enum CodingKeys: String, CodingKey {
        case inputSize = "input_size", resize, mean, std, scale, channelOrder = "channel_order", classes, palette, ignoreIndex = "ignore_index"
    }

    public init() {}

    /// Present fields by their metadata key (`input_size`), for the model's preprocessing.
    public var fields: [String: JSONValue] {
        let all: [(CodingKeys, JSONValue?)] = [(.inputSize, inputSize), (.resize, resize), (.mean, mean), (.std, std), (.scale, scale),
                                               (.channelOrder, channelOrder), (.classes, classes), (.palette, palette), (.ignoreIndex, ignoreIndex)]
        var out: [String: JSONValue] = [:]
        for (key, value) in all { if let value, !value.isNull { out[key.rawValue] = value } }
        return out
    }
}
