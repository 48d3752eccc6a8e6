import Foundation
import SegData
import SegProtocol

/// Open datasets by id, shared by every connection.
package actor DatasetStore {
    private var datasets: [String: Dataset] = [:]
    private var order: [String] = []

    package init() {}

    /// Opens (or returns the already open) dataset at `path` under a fresh id.
    func open(path: String, format: Dataset.Format?) throws -> (id: String, dataset: Dataset) {
        if let id = order.first(where: { datasets[$0]?.root == path && (format == nil || datasets[$0]?.format == format) }),
           let d = datasets[id] {
            return (id, d)
        }
        let d = try Dataset.open(path: path, format: format)
        let base = (path as NSString).lastPathComponent.isEmpty ? "dataset" : (path as NSString).lastPathComponent
        var id = base, n = 2
        while datasets[id] != nil { id = "\(base)-\(n)"; n += 1 }
        datasets[id] = d
        order.append(id)
        return (id, d)
    }

    func get(_ id: String) throws(ResponseError) -> Dataset {
        guard let d = datasets[id] else {
            throw ResponseError(.datasetError, "no open dataset with id '\(id)' (open: \(order.isEmpty ? "none" : order.joined(separator: ", ")))")
        }
        return d
    }

    var all: [(String, Dataset)] { order.compactMap { id in datasets[id].map { (id, $0) } } }

    func close(_ id: String) throws(ResponseError) {
        _ = try get(id)
        datasets[id] = nil
        order.removeAll { $0 == id }
    }
}
