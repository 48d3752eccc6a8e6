import Foundation
import SegData
import SegProtocol

/// `dataset/open|list|close`.
extension ServerCore {
    static let datasetMethods: [MethodHandler] = [
        MethodHandler(method: "dataset/open") { ctx in
            let p = try ParamReader(ctx.params)
            try p.rejectUnknown(allowed: ["path", "format"])
            let path = FilePaths.absolute(try p.string("path"))
            var format: Dataset.Format? = nil
            if let f = try p.optionalString("format") {
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
        MethodHandler(method: "dataset/list") { ctx in
            try ParamReader(ctx.params).rejectUnknown(allowed: [])
            return ["datasets": .array(await ctx.core.datasets.all.map { DatasetJSON.describe($0.0, $0.1) })]
        },
        MethodHandler(method: "dataset/close") { ctx in
            let p = try ParamReader(ctx.params)
            try p.rejectUnknown(allowed: ["id"])
            let id = try p.string("id")
            try await ctx.core.datasets.close(id)
            return ["id": .string(id)]
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
    static func describe(_ id: String, _ d: Dataset) -> JSONValue {
        var problems: [String: JSONValue] = [
            "missingFiles": .int(Int64(d.problems.missingCount)),
            "firstMissing": .array(d.problems.firstMissing.map(JSONValue.string)),
        ]
        if !d.problems.malformedLines.isEmpty { problems["malformedLines"] = .array(d.problems.malformedLines.map(JSONValue.string)) }
        return [
            "id": .string(id), "path": .string(d.root), "format": .string(d.format.rawValue),
            "splits": .object(Dictionary(uniqueKeysWithValues: d.splits.map { ($0.key, JSONValue.int(Int64($0.value.count))) })),
            "labelledSplits": .object(Dictionary(uniqueKeysWithValues: d.splits.map { ($0.key, JSONValue.int(Int64($0.value.filter { $0.label != nil }.count))) })),
            "numClasses": .int(Int64(d.numClasses)), "classes": .array(d.classes.map(JSONValue.string)),
            "palette": .array(d.palette.map { .array($0.map { .int(Int64($0)) }) }),
            "ignoreIndex": .int(Int64(d.ignoreIndex)),
            "problems": .object(problems),
        ]
    }
}
