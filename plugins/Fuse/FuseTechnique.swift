import SegGraph
import SegProtocol
import SegRewrite
import SegTechnique

/// Graph clean-up that changes no numbers: BatchNorm folded into the layer before it,
/// constants and shape subgraphs folded, Identity/Dropout removed, dead nodes dropped. The
/// result is standard ONNX (ORT runs it with the same outputs); Conv + activation pairs are
/// reported for the runtime's fused kernels.
package struct FuseTechnique: Technique {
    package static let descriptor = TechniqueDescriptor(
        id: "fuse",
        summary: "Fold BatchNorm and constants, remove Identity/Dropout and dead nodes (same outputs, fewer nodes)",
        parameters: [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": [
                "foldBatchNorm": ["type": "boolean", "default": true, "description": "Fold BatchNormalization into the preceding Conv/ConvTranspose/Gemm."],
                "foldConstants": ["type": "boolean", "default": true, "description": "Replace nodes computable at load by initializers."],
                "eliminateIdentity": ["type": "boolean", "default": true, "description": "Remove Identity and inference-mode Dropout."],
                "eliminateDeadNodes": ["type": "boolean", "default": true, "description": "Remove nodes and initializers nothing reads."],
                "inputShapes": [
                    "type": "object", "additionalProperties": ["type": "array", "items": ["type": "integer", "minimum": 1, "maximum": 1048575]],
                    "description": "Fix dynamic input dims (name → dims) so shape subgraphs fold; the model then only accepts those shapes.",
                ],
            ],
        ],
        needs: [],
        examples: [
            .init(summary: "everything (the default)", parameters: [:]),
            .init(summary: "keep BatchNorm nodes (e.g. to prune by BN-γ later)", parameters: ["foldBatchNorm": false]),
            .init(summary: "specialise a dynamic-size model to 360×480 and fold its shape computations",
                  parameters: ["inputShapes": ["image": [1, 3, 360, 480]]]),
        ])

    let rewrites: [any GraphRewrite]

    package init(parameters: JSONValue) throws(TechniqueError) {
        try Self.descriptor.validate(parameters)
        let o = parameters.objectValue ?? [:]
        func flag(_ key: String) -> Bool { o[key]?.boolValue ?? true }
        let shapes = (o["inputShapes"]?.objectValue ?? [:]).mapValues { dims in (dims.arrayValue ?? []).compactMap(\.intValue).map(Int.init) }
        var r: [any GraphRewrite] = []
        if flag("eliminateIdentity") { r.append(EliminateIdentity()) }
        if flag("foldConstants") { r.append(FoldConstants(inputShapes: shapes, keepOpTypes: FoldConstants.quantizedWeights)) }
        if flag("foldBatchNorm") { r.append(FoldBatchNorm()) }
        if flag("eliminateDeadNodes") { r.append(EliminateDeadNodes()) }
        rewrites = r
    }

    package func apply(to model: Model, in context: TechniqueContext) async throws -> TechniqueResult {
        try context.checkCancellation()
        context.progress(0, "rewriting")
        let (out, counts) = try RewriteManager(rewrites).run(model)
        context.progress(1, "done")
        let fusable = ActivationFusion.candidates(in: out.graph)
        var byActivation: [String: JSONValue] = [:]
        for f in fusable { byActivation[f.activation] = .int((byActivation[f.activation]?.intValue ?? 0) + 1) }
        return TechniqueResult(model: out, details: [
            "rewrites": .object(Dictionary(uniqueKeysWithValues: counts.map { ($0.name, JSONValue.int(Int64($0.count))) })),
            "nodesBefore": .int(Int64(model.graph.nodes.count)), "nodesAfter": .int(Int64(out.graph.nodes.count)),
            "fusableConvActivations": .object(byActivation),
        ])
    }
}
