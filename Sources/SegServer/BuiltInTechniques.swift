import Distill
import Finetune
import Fuse
import Prune
import Quantize
import SegTechnique

extension TechniqueRegistry {
    /// Every technique that ships: the one list a new plugin joins (besides its name in
    /// Package.swift's `plugins`), and the only file that imports every plugin.
    static let builtInTypes: [any Technique.Type] = [
        FuseTechnique.self,
        QuantizeTechnique.self,
        QATTechnique.self,
        PruneTechnique.self,
        FinetuneTechnique.self,
        DistillTechnique.self,
    ]

    package static let builtIn: TechniqueRegistry = {
        do {
            return try TechniqueRegistry(builtInTypes)
        } catch {
            // Only a programming error here (duplicate ids) can land in this branch; the
            // registration test catches it before any release.
            Log.error("technique registry: \(error)")
            return .empty
        }
    }()

    /// The plugin target each registered technique comes from (the module part of its type
    /// name), so `PluginRegistrationTests` can match them against the folders under plugins/.
    package static var builtInPluginModules: [String] {
        builtInTypes.map { String(reflecting: $0).split(separator: ".").first.map(String.init) ?? "" }
    }
}
