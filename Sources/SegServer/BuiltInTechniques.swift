import Fuse
import Prune
import Quantize
import SegTechnique

extension TechniqueRegistry {
    /// Every technique that ships, and the plugin target each comes from. This is the one
    /// place that imports every plugin; `PluginRegistrationTests` fails when a folder under
    /// `plugins/` is missing here.
    public static let builtIn: TechniqueRegistry = {
        do {
            return try TechniqueRegistry([FuseTechnique.self, QuantizeTechnique.self, PruneTechnique.self])
        } catch {
            // Only a programming error here (duplicate ids) can land in this branch; the
            // registration test catches it before any release.
            Log.error("technique registry: \(error)")
            return .empty
        }
    }()

    /// Plugin target names registered above, one per folder under `plugins/`.
    public static let builtInPluginModules: [String] = ["Fuse", "Prune", "Quantize"]
}
