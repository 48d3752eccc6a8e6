/// `model/segment {id, images, ...}`: segment images with a resident image model; masks,
/// overlays and a legend are written to `outputDir` or returned inline.
public enum ModelSegmentRequest: RPCRequest {
    public static let method = "model/segment"

    public struct Params: Codable, Sendable, Equatable, ValidatingParams {
        /// A resident image model's id.
        public var id: String
        /// Image paths, or `{data: base64, name?}`.
        public var images: [ImageInput]?
        /// Where to write files; without it they come back inline as base64.
        public var outputDir: String?
        /// Write the class-index mask PNG (default true).
        public var mask: Bool?
        /// Write the overlay PNG (default true).
        public var overlay: Bool?
        /// Write `legend.png` (default false).
        public var legend: Bool?
        /// Sliding-window inference for images larger than the model's input.
        public var slide: Slide?
        /// Overlay opacity, 0...1 (default 0.5).
        public var alpha: Double?
        /// Replace masks, overlays or a legend already in `outputDir` (default false:
        /// OutputExists, nothing written).
        public var overwrite: Bool?
        /// Class names and colours for this request's legend, overlay and `classes` (default:
        /// the model's `segslim.classes` / `segslim.palette`).
        public var classes: ClassesSource?
        /// Which member of the model's variant family (`model/variants`) serves: "accurate",
        /// "fastest", "auto" (the most accurate one whose expected time, given the requests
        /// already queued, stays within `maxLatencyMs`), or a variant's id. Default: the model
        /// `id` names, unless a policy below is given (then "auto").
        public var variant: String?
        /// The latency target "auto" keeps each request within (default: twice the accurate
        /// variant's expected time).
        public var maxLatencyMs: Double?
        /// Only variants whose measured mIoU is at least this serve.
        public var minMiou: Double?

        public init(id: String, images: [ImageInput], outputDir: String? = nil, mask: Bool? = nil, overlay: Bool? = nil,
                    legend: Bool? = nil, slide: Slide? = nil, alpha: Double? = nil, overwrite: Bool? = nil, classes: ClassesSource? = nil) {
            self.id = id
            self.images = images
            self.outputDir = outputDir
            self.mask = mask
            self.overlay = overlay
            self.legend = legend
            self.slide = slide
            self.alpha = alpha
            self.overwrite = overwrite
            self.classes = classes
        }

        public func validate() throws(ResponseError) {
            guard let images, !images.isEmpty else {
                throw .invalidParams("params.images: required non-empty array of image paths (or {data: base64})")
            }
            if let alpha, !(0...1).contains(alpha) { throw .invalidParams("params.alpha: \(alpha) is outside 0...1") }
            try slide?.validate()
            if let ms = maxLatencyMs, !(ms > 0 && ms.isFinite) { throw .invalidParams("params.maxLatencyMs: \(ms) must be a positive number of milliseconds") }
            if let m = minMiou, !(0...1).contains(m) { throw .invalidParams("params.minMiou: \(m) is outside 0...1") }
            if let v = variant, v.isEmpty { throw .invalidParams("params.variant: expected \"accurate\", \"fastest\", \"auto\" or a variant id") }
        }
    }

    /// `{crop: [h, w], stride: [h, w]}`.
    public struct Slide: Codable, Sendable, Equatable {
        public var crop: [Int]
        public var stride: [Int]
        public init(crop: [Int], stride: [Int]) { self.crop = crop; self.stride = stride }

        func validate() throws(ResponseError) {
            for (key, pair) in [("crop", crop), ("stride", stride)] where pair.count != 2 || !pair.allSatisfy({ (1...16384).contains($0) }) {
                throw .invalidParams("params.slide.\(key): expected [height, width] with positive integers")
            }
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        /// One per image, in request order.
        public var results: [ImageResult]
        /// With `legend: true`.
        public var legend: FileOrData?
        /// Defaults assumed for the model (no mean/std, no class names in its metadata); absent
        /// when there are none.
        public var warnings: [String]?
        /// The model that served, when the request chose from a variant family: its id, and why.
        public var variant: ServedVariant?
        public init(results: [ImageResult], legend: FileOrData? = nil, warnings: [String]? = nil) {
            self.results = results
            self.legend = legend
            self.warnings = warnings
        }
    }

    public struct ImageResult: Codable, Sendable, Equatable {
        /// The path given, or the inline image's name.
        public var image: String
        public var width: Int
        public var height: Int
        /// Classes in the mask, largest first.
        public var classes: [ClassFraction]
        public var mask: FileOrData?
        public var overlay: FileOrData?
        public var timings: Timings

        public init(image: String, width: Int, height: Int, classes: [ClassFraction], mask: FileOrData? = nil,
                    overlay: FileOrData? = nil, timings: Timings) {
            self.image = image
            self.width = width
            self.height = height
            self.classes = classes
            self.mask = mask
            self.overlay = overlay
            self.timings = timings
        }
    }

    /// `{id, policy, expectedMs, waitedMs, behind}`: which variant answered and what the
    /// choice saw when the request's turn came.
    public struct ServedVariant: Codable, Sendable, Equatable {
        public var id: String
        /// "accurate", "fastest", "auto" or "id".
        public var policy: String
        /// The member's expected time for this request's work.
        public var expectedMs: Double
        /// How long the request waited for its turn on the family.
        public var waitedMs: Double
        /// Requests waiting behind it then.
        public var behind: Int
        public init(id: String, policy: String, expectedMs: Double, waitedMs: Double, behind: Int) {
            self.id = id
            self.policy = policy
            self.expectedMs = expectedMs
            self.waitedMs = waitedMs
            self.behind = behind
        }
    }

    public struct ClassFraction: Codable, Sendable, Equatable {
        /// Class index.
        public var id: Int
        /// Class name (`class 7` when the model has none).
        public var name: String
        /// Share of the pixels, 0...1.
        public var fraction: Double
        enum CodingKeys: String, CodingKey { case id, name = "class", fraction }
        public init(id: Int, name: String, fraction: Double) { self.id = id; self.name = name; self.fraction = fraction }
    }

    public struct Timings: Codable, Sendable, Equatable {
        public var decodeMs: Double
        public var preprocessMs: Double
        public var inferMs: Double
        /// Resize back, argmax, and writing the files.
        public var postprocessMs: Double
        public init(decodeMs: Double, preprocessMs: Double, inferMs: Double, postprocessMs: Double) {
            self.decodeMs = decodeMs
            self.preprocessMs = preprocessMs
            self.inferMs = inferMs
            self.postprocessMs = postprocessMs
        }
    }
}

/// An image in a request: a path, or `{data: base64, name?}`.
public enum ImageInput: Codable, Sendable, Equatable, JSONNamedType {
    case path(String)
    case inline(data: String, name: String?)

    public static var jsonTypeName: String { "a path or {data: base64}" }

    public init(from decoder: any Decoder) throws {
        let v = try decoder.singleValueContainer().decode(JSONValue.self)
        switch v {
        case .string(let p): self = .path(p)
        case .object(let o) where Set(o.keys).isSubset(of: ["data", "name"]):
            guard let data = o["data"]?.stringValue else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [NameKey("data")], debugDescription: "expected base64 image bytes"))
            }
            self = .inline(data: data, name: o["name"]?.stringValue)
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected a path or {data: base64}"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .path(let p): try c.encode(p)
        case .inline(let data, let name):
            var o: [String: JSONValue] = ["data": .string(data)]
            if let name { o["name"] = .string(name) }
            try c.encode(JSONValue.object(o))
        }
    }
}
