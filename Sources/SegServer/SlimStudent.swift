import Foundation
import SegGraph
import SegProtocol
import SegTechnique

/// `model/build {arch: "slim", teacher, width}`: the teacher itself at a width multiplier.
/// A thin path over the `prune` technique with one uniform ratio, 1 − width: every prunable
/// channel group keeps `width` of its channels (rounded to multiples of 8, never fewer than
/// asked), chosen by `criterion` (default L1 norm), with the kept weights inherited. BatchNorm
/// nodes stay, so the student trains (or distils) as it is.
extension ServerCore {
    static let slimArchitecture = "slim"
    static let slimWidths = 0.1...1.0

    func slimStudent(_ teacher: Model, width: Double?, criterion: String?, seed: Int?) async throws -> Model {
        guard let width else { throw ResponseError.invalidParams("params.width: required for a slim student (the fraction of channels kept)") }
        guard Self.slimWidths.contains(width) else {
            throw ResponseError.invalidParams("params.width: \(width) is out of range 0.1...1 for a slim student")
        }
        var parameters: [String: JSONValue] = ["ratio": .double(1 - width), "latencyRuns": 0, "recalibrateBN": false]
        if let criterion { parameters["criterion"] = .string(criterion) }
        if let seed { parameters["seed"] = .int(Int64(seed)) }
        let technique: any Technique
        do { technique = try registry.make(id: "prune", parameters: .object(parameters)) } catch {
            throw ResponseError.technique(error, technique: "prune", field: "params")
        }
        let context = TechniqueContext(runner: TechniqueRunner(threads: nil, ledger: models.transientPlans))
        do { return try await technique.apply(to: teacher, in: context).model } catch {
            throw ResponseError.technique(error, technique: "prune")
        }
    }
}
