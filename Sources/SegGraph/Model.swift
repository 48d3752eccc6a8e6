/// A model as the rest of SegSlim sees it: a graph plus model-level facts.
///
/// Value type: a technique returns a new `Model` and never mutates the one it was given,
/// so the original stays resident and comparable.
public struct Model: Sendable, Equatable {
    /// ONNX `metadata_props`. Keys are unique; file order is not significant (written sorted).
    public var metadata: [String: String]
    public var graph: Graph
    /// ONNX IR version the model declares (`ir_version`).
    public var irVersion: Int
    /// Operator set version per domain, in file order ("" is the default ONNX domain).
    public var opsetImports: [OpsetImport]
    public var producerName: String
    public var producerVersion: String
    /// Reverse-DNS namespace of the model (`ModelProto.domain`), not an operator domain.
    public var domain: String
    public var modelVersion: Int
    public var docString: String

    public init(graph: Graph = Graph(), irVersion: Int = 8, opsetImports: [OpsetImport] = [OpsetImport(domain: "", version: 17)],
                producerName: String = "segslim", producerVersion: String = "", domain: String = "",
                modelVersion: Int = 0, docString: String = "", metadata: [String: String] = [:]) {
        self.metadata = metadata
        self.graph = graph
        self.irVersion = irVersion
        self.opsetImports = opsetImports
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.domain = domain
        self.modelVersion = modelVersion
        self.docString = docString
    }

    /// The opset version imported for an operator domain ("" and "ai.onnx" are the same).
    public func opsetVersion(for domain: String) -> Int? {
        let wanted = OpsetImport.canonical(domain)
        return opsetImports.first { OpsetImport.canonical($0.domain) == wanted }?.version
    }
}

/// One `opset_import` entry: operators of `domain` follow operator set `version`.
public struct OpsetImport: Sendable, Hashable {
    public var domain: String
    public var version: Int

    public init(domain: String, version: Int) {
        self.domain = domain
        self.version = version
    }

    static func canonical(_ domain: String) -> String { domain == "ai.onnx" ? "" : domain }
}
