import Foundation
import SegProtocol

/// The techniques a daemon offers, by id. The built-in set is assembled in exactly one place
/// (`SegServer/BuiltInTechniques.swift`), the only file that imports every plugin.
public struct TechniqueRegistry: Sendable {
    public private(set) var techniques: [any Technique.Type]

    /// Duplicate ids are a programming error in the registry itself, reported at start-up.
    public init(_ techniques: [any Technique.Type]) throws(TechniqueRegistryError) {
        var seen = Set<String>()
        for t in techniques {
            let id = t.descriptor.id
            guard id.range(of: "^[a-z][a-z0-9-]*$", options: .regularExpression) != nil else {
                throw .invalidID(id)
            }
            guard seen.insert(id).inserted else { throw .duplicateID(id) }
        }
        self.techniques = techniques
    }

    public static let empty = TechniqueRegistry(unchecked: [])

    init(unchecked: [any Technique.Type]) { techniques = unchecked }

    public var ids: [String] { techniques.map { $0.descriptor.id } }

    public var descriptors: [TechniqueDescriptor] { techniques.map { $0.descriptor } }

    public func technique(id: String) -> (any Technique.Type)? {
        techniques.first { $0.descriptor.id == id }
    }

    /// Looks the technique up and validates its parameters: first against the descriptor's
    /// JSON Schema (for every technique alike), then by `init` (its cross-field rules).
    public func make(id: String, parameters: JSONValue) throws(TechniqueRegistryError) -> any Technique {
        guard let type = technique(id: id) else { throw .unknownTechnique(id, known: ids) }
        do {
            try type.descriptor.validate(parameters)
            return try type.init(parameters: parameters)
        } catch {
            throw .invalidParameters(id, error)
        }
    }
}

public enum TechniqueRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidID(String)
    case duplicateID(String)
    case unknownTechnique(String, known: [String])
    case invalidParameters(String, TechniqueError)

    public var description: String {
        switch self {
        case .invalidID(let id): return "technique id '\(id)' must match [a-z][a-z0-9-]*"
        case .duplicateID(let id): return "technique id '\(id)' is registered twice"
        case .unknownTechnique(let id, let known):
            return "unknown technique '\(id)' (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
        case .invalidParameters(let id, let e): return "technique '\(id)': \(e)"
        }
    }
}
