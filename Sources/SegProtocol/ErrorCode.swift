/// Every error code SegSlim puts on the wire. The table in protocol/README.md lists the same
/// codes; a test checks that the two agree.
public struct ErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    // JSON-RPC 2.0
    public static let parseError = ErrorCode(rawValue: -32700)
    public static let invalidRequest = ErrorCode(rawValue: -32600)
    public static let methodNotFound = ErrorCode(rawValue: -32601)
    public static let invalidParams = ErrorCode(rawValue: -32602)
    public static let internalError = ErrorCode(rawValue: -32603)

    // LSP lifecycle and cancellation
    public static let serverNotInitialized = ErrorCode(rawValue: -32002)
    public static let requestCancelled = ErrorCode(rawValue: -32800)

    // Application codes (-33000 ... -33099): stable, documented in protocol/README.md.
    public static let fileNotFound = ErrorCode(rawValue: -33001)
    public static let invalidModel = ErrorCode(rawValue: -33002)
    public static let unsupportedOperator = ErrorCode(rawValue: -33003)
    public static let modelNotFound = ErrorCode(rawValue: -33004)
    public static let datasetError = ErrorCode(rawValue: -33005)
    public static let outOfMemoryBudget = ErrorCode(rawValue: -33006)
    public static let techniqueFailed = ErrorCode(rawValue: -33007)
    public static let outputExists = ErrorCode(rawValue: -33008)
    public static let unsupportedFormat = ErrorCode(rawValue: -33009)
    public static let trainingFailed = ErrorCode(rawValue: -33010)

    /// Name and meaning of each code, in table order (protocol/README.md is generated from
    /// the same words and tested against this list).
    public static let all: [(code: ErrorCode, name: String, meaning: String)] = [
        (.parseError, "ParseError", "The body is not valid JSON (or not UTF-8). The id is null."),
        (.invalidRequest, "InvalidRequest", "Valid JSON but not a JSON-RPC 2.0 request, a duplicate in-flight id, a body over the size limit, or a request after `shutdown`."),
        (.methodNotFound, "MethodNotFound", "No such method (or a debug method on a daemon started without `--enable-debug-methods`)."),
        (.invalidParams, "InvalidParams", "A parameter is missing, has the wrong type or is out of range; the message names it."),
        (.internalError, "InternalError", "A bug in SegSlim. The daemon keeps serving."),
        (.serverNotInitialized, "ServerNotInitialized", "A request arrived before `initialize`."),
        (.requestCancelled, "RequestCancelled", "The request was cancelled by `$/cancelRequest`."),
        (.fileNotFound, "FileNotFound", "A path in the params does not exist or cannot be read; the message names it."),
        (.invalidModel, "InvalidModel", "The model file is truncated, corrupt or not ONNX; the message names the file and what is wrong."),
        (.unsupportedOperator, "UnsupportedOperator", "The model uses an operator, attribute or dtype SegSlim does not run; the message names the node."),
        (.modelNotFound, "ModelNotFound", "No resident model has that id."),
        (.datasetError, "DatasetError", "A dataset cannot be opened or a sample cannot be read; the message names the file."),
        (.outOfMemoryBudget, "OutOfMemoryBudget", "Loading or compiling a model, or an image's working set in `model/segment`, would exceed the daemon's memory budget."),
        (.techniqueFailed, "TechniqueFailed", "A compression technique could not be applied; the message says why."),
        (.outputExists, "OutputExists", "An output path exists and `overwrite` was not set; nothing was written."),
        (.unsupportedFormat, "UnsupportedFormat", "A file format or variant SegSlim does not read (e.g. CMYK JPEG)."),
        (.trainingFailed, "TrainingFailed", "Training stopped: a non-finite loss (the message names the step; the last good checkpoint is kept), a label out of range, or a model with no trainable path."),
    ]

    public var description: String {
        Self.all.first { $0.code == self }.map { "\($0.name) (\(rawValue))" } ?? String(rawValue)
    }
}
