import SegTechnique

extension TechniqueRegistry {
    /// Every technique that ships, and the plugin target each comes from. This is the one
    /// place that imports every plugin; `PluginRegistrationTests` fails when a folder under
    /// `plugins/` is missing here. Empty until the first plugin lands (no placeholder ships).
    public static let builtIn: TechniqueRegistry = .empty

    /// Plugin target names registered above, one per folder under `plugins/`.
    public static let builtInPluginModules: [String] = []
}
