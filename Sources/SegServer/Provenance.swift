import Foundation
import SegGraph
import SegONNX
import SegProtocol

extension ServerCore {
    /// Records in a model made from `source` how it was made: the technique, its parameters,
    /// the source's digest and name, and this build's version; the source's preprocessing is
    /// kept so the result segments the same way.
    ///
    /// The source is named by its file name only (or its id when it came from memory): models
    /// get shared, and a directory layout of the machine that made one says nothing useful to
    /// whoever receives it, while `segslim.source_sha256` pins the exact bytes.
    func recordProvenance(technique: String, parameters: String, source: ModelStore.Entry, sourceBytes: [UInt8],
                          into model: inout Model) {
        for (k, v) in source.preprocessing?.metadata ?? [:] where model.metadata[k] == nil { model.metadata[k] = v }
        model.metadata["segslim.technique"] = technique
        model.metadata["segslim.parameters"] = parameters
        model.metadata["segslim.source_sha256"] = SHA256.hex(sourceBytes)
        model.metadata["segslim.source"] = source.path.map { URL(fileURLWithPath: $0).lastPathComponent } ?? source.id
        model.metadata["segslim.version"] = SegSlimVersion.current
    }
}
