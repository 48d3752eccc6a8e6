import SegGraph

// The window geometry itself (`ConvGeometry`, `ConvTransposeGeometry`, `SpatialAxis`) lives in
// SegGraph, shared with the runtime's kernel choice; what stays here is interpreter-only.

extension SpatialAxis {
    /// Pads the axis list to exactly three (depth, height, width) with unit axes in front, so
    /// 1-D, 2-D and 3-D ops share one loop nest.
    static func canonical3(_ axes: [SpatialAxis]) throws -> [SpatialAxis] {
        guard axes.count <= 3 else { throw OpError.unsupported("\(axes.count) spatial dimensions (at most 3)") }
        return [SpatialAxis](repeating: .unit, count: 3 - axes.count) + axes
    }
}
