import SegGraph
import SegKernels
import SegReference

/// GridSample on SegKernels: 4-D f32, bilinear, zeros or border padding, either align_corners
/// (what deformable attention and spatial transformers export). Nearest, cubic, reflection and
/// volumetric grids run on the reference.
enum GridSamplePath {
    static func select(_ i: Int, _ b: PlanBuilder, _ consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count == 2, let out = node.outputs.first, let od = b.dims(out), od.count == 4,
              let x = node.inputs.first, b.isPlanned(x), let xd = b.dims(x), xd.count == 4,
              let (grid, gd) = TensorOpsPath.source(node.inputs[1], b), gd == [xd[0], od[2], od[3], 2],
              od == [xd[0], xd[1], gd[1], gd[2]] else { return nil }
        let opset = b.model.opsetVersion(for: "") ?? 16
        guard let options = try? GridSampleOptions(NodeContext(node: node, opset: opset)), options.mode == .linear else { return nil }
        let padding: GridSamplePadding
        switch options.padding {
        case .zeros: padding = .zeros
        case .border: padding = .border
        case .reflection: return nil
        }
        let gridName = node.inputs[1]
        return .init(reads: [x] + (b.isPlanned(gridName) ? [gridName] : []), writes: [out], kind: "GridSample") { slot in
            GridSampleStep(input: slot(x), grid: TensorOpsPath.resolve(grid, gridName, slot), output: slot(out), padding: padding,
                           alignCorners: options.alignCorners, context: b.context)
        }
    }
}

/// Bilinear GridSample of an NCHW tensor at an [N, Ho, Wo, 2] grid (a value or a constant).
struct GridSampleStep: Step {
    let input: Slot
    let grid: FloatSource
    let output: Slot
    let padding: GridSamplePadding
    let alignCorners: Bool
    let context: KernelContext
    var kind: String { "GridSample" }
    var heldBytes: Int { grid.heldBytes }

    func execute(_ arena: Arena) throws {
        let i = input.dims, o = output.dims
        try gridSampleBilinear(input: arena.pointer(input), batch: i[0], channels: i[1], inHeight: i[2], inWidth: i[3],
                               grid: grid.pointer(arena), outHeight: o[2], outWidth: o[3], output: arena.pointer(output),
                               padding: padding, alignCorners: alignCorners, context: context)
    }
}
