import Foundation
import SegData
import SegProtocol

/// `dataset/open|list|close`.
extension ServerCore {
    static let datasetMethods: [MethodHandler] = [
        .typed(DatasetOpenRequest.self) { p, ctx in
            let path = FilePaths.absolute(p.path)
            var format: Dataset.Format? = nil
            if let f = p.format {
                guard let parsed = Dataset.Format(rawValue: f) else {
                    throw ResponseError.invalidParams("params.format: unknown format '\(f)' (one of: \(Dataset.Format.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                format = parsed
            }
            do {
                let (id, d) = try await ctx.core.datasets.open(path: path, format: format)
                return DatasetJSON.describe(id, d)
            } catch let e as DatasetError {
                if case .notFound = e { throw ResponseError(.fileNotFound, e.description) }
                throw ResponseError(.datasetError, e.description)
            }
        },
        .typed(DatasetListRequest.self) { _, ctx in
            DatasetListRequest.Result(datasets: await ctx.core.datasets.all.map { DatasetJSON.describe($0.0, $0.1) })
        },
        .typed(DatasetCloseRequest.self) { p, ctx in
            try await ctx.core.datasets.close(p.id)
            return .init(id: p.id)
        },
    ]

    /// A dataset param: an open dataset's id, or a folder path (opened on the fly).
    func dataset(_ value: String) async throws -> (String, Dataset) {
        if let d = try? await datasets.get(value) { return (value, d) }
        do {
            return try await datasets.open(path: FilePaths.absolute(value), format: nil)
        } catch let e as DatasetError {
            if case .notFound = e { throw ResponseError(.fileNotFound, "params.dataset: '\(value)' is neither an open dataset id nor a folder") }
            throw ResponseError(.datasetError, e.description)
        }
    }
}

enum DatasetJSON {
    static func describe(_ id: String, _ d: Dataset) -> DatasetDescription {
        DatasetDescription(
            id: id, path: d.root, format: d.format.rawValue,
            splits: d.splits.mapValues(\.count),
            labelledSplits: d.splits.mapValues { $0.filter { $0.label != nil }.count },
            numClasses: d.numClasses, classes: d.classes, palette: d.palette.map { $0.map { Int($0) } }, ignoreIndex: d.ignoreIndex,
            problems: .init(missingFiles: d.problems.missingCount, firstMissing: d.problems.firstMissing,
                            malformedLines: d.problems.malformedLines.isEmpty ? nil : d.problems.malformedLines))
    }
}
