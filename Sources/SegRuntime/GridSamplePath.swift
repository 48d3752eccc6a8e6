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
              let (grid, gd) = gridSource(node.inputs[1], b), gd == [xd[0], od[2], od[3], 2],
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
        return .init(reads: [x] + (b.constant(gridName) == nil ? [gridName] : []), writes: [out], kind: "GridSample") { slot in
            let source: GridSampleStep.Grid
            switch grid {
            case .floats(let f): source = .floats(TensorOpsPath.resolve(f, gridName, slot))
            case .tensor: source = grid
            }
            return GridSampleStep(input: slot(x), grid: source, output: slot(out), padding: padding,
                                  alignCorners: options.alignCorners, context: b.context)
        }
    }

    /// The grid as an f32 value or constant, or an f64/f16 value outside the arena (exports
    /// compute Mask2Former's sampling locations in f64), read by name at run time.
    static func gridSource(_ name: String, _ b: PlanBuilder) -> (GridSampleStep.Grid, [Int])? {
        if let (f, d) = TensorOpsPath.source(name, b, convert: true) { return (.floats(f), d) }
        guard b.constant(name) == nil, let type = b.inference.types[name], let d = type.concreteDims,
              type.elementType == .f64 || type.elementType == .f16 else { return nil }
        return (.tensor(name), d)
    }
}

/// Bilinear GridSample of an NCHW tensor at an [N, Ho, Wo, 2] grid (a value or a constant).
struct GridSampleStep: Step {
    let input: Slot
    let grid: Grid
    let output: Slot
    let padding: GridSamplePadding
    let alignCorners: Bool
    let context: KernelContext
    var kind: String { "GridSample" }
    var heldBytes: Int {
        if case .floats(let f) = grid { return f.heldBytes }
        return 0
    }

    enum Grid: Sendable {
        case floats(FloatSource)
        /// A non-f32 float value outside the arena, converted to f32 per run (the spec's
        /// reference maps coordinates in f32 too).
        case tensor(String)
    }

    func execute(_ arena: Arena) throws {
        let i = input.dims, o = output.dims
        func run(_ g: UnsafePointer<Float>) throws {
            try gridSampleBilinear(input: arena.pointer(input), batch: i[0], channels: i[1], inHeight: i[2], inWidth: i[3],
                                   grid: g, outHeight: o[2], outWidth: o[3], output: arena.pointer(output),
                                   padding: padding, alignCorners: alignCorners, context: context)
        }
        switch grid {
        case .floats(let f): try run(f.pointer(arena))
        case .tensor(let name):
            guard let t = arena.tensors[name], t.elementCount == i[0] * o[2] * o[3] * 2 else {
                throw ExecutionError.node("GridSample", .other("grid '\(name)' is missing or has the wrong size"))
            }
            let values = try t.converted(to: .f32).scalars(as: Float.self)
            try values.withUnsafeBufferPointer { try run($0.baseAddress!) }
        }
    }
}
