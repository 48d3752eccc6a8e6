import Foundation
import SegGraph
import SegProtocol

/// Where a search keeps what it measured, by candidate key: each trial's numbers, each scored
/// candidate's model, fine-tune checkpoints and the source's score. The same request run again
/// reads them instead of measuring again, so an interrupted search resumes where it stopped.
/// Without a directory nothing is kept.
struct AutoCompressCache: Sendable {
    let directory: String?

    init(directory: String?) throws {
        self.directory = directory
        guard let directory else { return }
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw ResponseError(.invalidParams, "params.cacheDir: cannot create \(directory): \(error.localizedDescription)")
        }
    }

    private func path(_ name: String) -> String? {
        directory.map { ($0 as NSString).appendingPathComponent(name) }
    }

    func trial(_ key: String) -> AutoCompressTrial? {
        guard let file = path("\(key).trial.json"), let data = FileManager.default.contents(atPath: file),
              let json = try? JSONParser.parse(Array(data)) else { return nil }
        return AutoCompressTrial(json: json)
    }

    func store(trial: AutoCompressTrial, for key: String) throws {
        guard let file = path("\(key).trial.json") else { return }
        try OutputFiles.write(Array(trial.json.jsonString.utf8), to: file, overwrite: true, field: "params.cacheDir")
    }

    func model(_ key: String) -> [UInt8]? {
        guard let file = path("\(key).onnx"), let data = FileManager.default.contents(atPath: file) else { return nil }
        return Array(data)
    }

    func store(model bytes: [UInt8], for key: String) throws {
        guard let file = path("\(key).onnx") else { return }
        try OutputFiles.write(bytes, to: file, overwrite: true, field: "params.cacheDir")
    }

    /// A fine-tune's checkpoint folder for a candidate, so a search stopped mid-training
    /// resumes it.
    func checkpointDirectory(_ key: String) -> String? { path("\(key).ckpt") }

    func number(_ key: String) -> Double? {
        guard let file = path(SHA256.hex(Array(key.utf8)) + ".number"), let data = FileManager.default.contents(atPath: file) else { return nil }
        return Double(String(decoding: data, as: UTF8.self))
    }

    func store(number: Double, for key: String) throws {
        guard let file = path(SHA256.hex(Array(key.utf8)) + ".number") else { return }
        try OutputFiles.write(Array("\(number)".utf8), to: file, overwrite: true, field: "params.cacheDir")
    }
}

/// Models a search built part of the way (after a pruning, after a fine-tune), by the hash of
/// the steps that made them, for the length of one search: candidates sharing those steps
/// start from them instead of pruning or training again.
actor AutoCompressPrefixes {
    private var models: [String: Model] = [:]

    func model(_ key: String) -> Model? { models[key] }
    func keep(_ model: Model, for key: String) { models[key] = model }
}
