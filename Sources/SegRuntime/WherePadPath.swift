import SegGraph
import SegKernels
import SegTensor

/// Where and constant Pad on float tensors, as transformer exports use them (Swin's window
/// padding, attention masks chosen with Where): they ran on the reference executor, a
/// multi-index walk per element. Here each is a loop over output rows with the innermost axis
/// read at a stride (0 where an input broadcasts), rows split over the pool.
enum WherePadPath {
    /// Where(cond, x, y): cond a constant bool tensor; x and y float, each computed or constant;
    /// numpy broadcasting; float output.
    static func whereSelect(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard node.inputs.count == 3, let out = node.outputs.first, b.isPlanned(out), let od = b.dims(out), !od.isEmpty,
              let cond = b.constant(node.inputs[0]), cond.dtype == .bool, let flags = try? cond.scalars(as: Bool.self) else { return nil }
        var operands: [Operand] = []
        for name in node.inputs[1...] {
            if b.isPlanned(name), let d = b.dims(name) {
                operands.append(.init(name: name, dims: d, values: nil))
            } else if let c = b.constant(name), c.dtype == .f32, let v = try? c.scalars(as: Float.self) {
                operands.append(.init(name: nil, dims: c.dims, values: v))
            } else {
                return nil
            }
        }
        guard let cs = BroadcastStrides(cond.dims, to: od), let xs = BroadcastStrides(operands[0].dims, to: od),
              let ys = BroadcastStrides(operands[1].dims, to: od) else { return nil }
        let (x, y) = (operands[0], operands[1])
        let reads = [x.name, y.name].compactMap { $0 }
        let mask = flags.map { UInt8($0 ? 1 : 0) }
        return .init(reads: reads, writes: [out], kind: "Where") { slot in
            WhereStep(condition: mask, conditionStrides: cs, x: x.name.map(slot), xValues: x.values ?? [], xStrides: xs,
                      y: y.name.map(slot), yValues: y.values ?? [], yStrides: ys, output: slot(out), dims: od, context: b.context)
        }
    }

    /// Pad(data, pads, [constant_value], [axes]) in constant mode with constant, non-negative
    /// pads on a float tensor.
    static func pad(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        guard (node[attribute: "mode"]?.stringValue ?? "constant") == "constant", node.inputs.count >= 2,
              let x = node.inputs.first, b.isPlanned(x), let xd = b.dims(x), !xd.isEmpty,
              let out = node.outputs.first, b.isPlanned(out), let od = b.dims(out), od.count == xd.count,
              let pt = b.constant(node.inputs[1]), let pads = try? pt.converted(to: .i64).scalars(as: Int64.self) else { return nil }
        var value: Float = 0
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let c = b.constant(node.inputs[2]), c.dtype == .f32, c.elementCount == 1, let v = try? c.scalars(as: Float.self).first else { return nil }
            value = v
        }
        let rank = xd.count
        var axes = Array(0..<rank)
        if node.inputs.count > 3, !node.inputs[3].isEmpty {
            guard let a = b.constant(node.inputs[3]), let given = try? a.converted(to: .i64).scalars(as: Int64.self) else { return nil }
            axes = given.map { Int($0) < 0 ? Int($0) + rank : Int($0) }
            guard axes.allSatisfy({ (0..<rank).contains($0) }), Set(axes).count == axes.count else { return nil }
        }
        guard pads.count == 2 * axes.count else { return nil }
        var begin = [Int](repeating: 0, count: rank)
        for (j, axis) in axes.enumerated() {
            guard pads[j] >= 0, pads[j + axes.count] >= 0 else { return nil }
            begin[axis] = Int(pads[j])
        }
        // The output shape must be what these pads make (checks the end pads too).
        for (j, axis) in axes.enumerated() where od[axis] != xd[axis] + Int(pads[j]) + Int(pads[j + axes.count]) { return nil }
        for axis in 0..<rank where !axes.contains(axis) && od[axis] != xd[axis] { return nil }
        return .init(reads: [x], writes: [out], kind: "Pad") { slot in
            PadStep(input: slot(x), inputDims: xd, output: slot(out), outputDims: od, begin: begin, value: value, context: b.context)
        }
    }

    struct Operand {
        var name: String?
        var dims: [Int]
        var values: [Float]?
    }
}

/// Element strides of a tensor broadcast (numpy rules) to `dims`: 0 along axes it repeats.
struct BroadcastStrides: Sendable {
    let strides: [Int]

    init?(_ from: [Int], to dims: [Int]) {
        guard from.count <= dims.count else { return nil }
        let aligned = [Int](repeating: 1, count: dims.count - from.count) + from
        var strides = [Int](repeating: 0, count: dims.count)
        var step = 1
        for axis in stride(from: dims.count - 1, through: 0, by: -1) {
            guard aligned[axis] == dims[axis] || aligned[axis] == 1 else { return nil }
            strides[axis] = aligned[axis] == 1 ? 0 : step
            step *= aligned[axis]
        }
        self.strides = strides
    }

    /// The element offset of output row `row` (all axes but the last, row-major).
    @inline(__always)
    func rowOffset(_ row: Int, dims: [Int]) -> Int {
        var rest = row, offset = 0
        for axis in stride(from: dims.count - 2, through: 0, by: -1) {
            offset += (rest % dims[axis]) * strides[axis]
            rest /= dims[axis]
        }
        return offset
    }
}

struct WhereStep: Step {
    let condition: [UInt8]
    let conditionStrides: BroadcastStrides
    let x: Slot?
    let xValues: [Float]
    let xStrides: BroadcastStrides
    let y: Slot?
    let yValues: [Float]
    let yStrides: BroadcastStrides
    let output: Slot
    let dims: [Int]
    let context: KernelContext
    var kind: String { "Where" }
    var heldBytes: Int { condition.count + 4 * (xValues.count + yValues.count) }

    func execute(_ arena: Arena) throws {
        let inner = dims[dims.count - 1], rows = output.count / max(inner, 1)
        guard inner > 0 else { return }
        condition.withUnsafeBufferPointer { cb in
            xValues.withUnsafeBufferPointer { xv in
                yValues.withUnsafeBufferPointer { yv in
                    // Rows write disjoint parts of the output; inputs are only read.
                    nonisolated(unsafe) let c = cb.baseAddress!, o = arena.pointer(output)
                    nonisolated(unsafe) let xp = x.map { UnsafePointer(arena.pointer($0)) } ?? xv.baseAddress!
                    nonisolated(unsafe) let yp = y.map { UnsafePointer(arena.pointer($0)) } ?? yv.baseAddress!
                    let cs = conditionStrides.strides.last!, xs = xStrides.strides.last!, ys = yStrides.strides.last!
                    context.pool.parallelFor(rows) { range in
                        for row in range {
                            let cr = c + conditionStrides.rowOffset(row, dims: dims)
                            let xr = xp + xStrides.rowOffset(row, dims: dims), yr = yp + yStrides.rowOffset(row, dims: dims)
                            let dst = o + row * inner
                            for j in 0..<inner { dst[j] = cr[j &* cs] != 0 ? xr[j &* xs] : yr[j &* ys] }
                        }
                    }
                }
            }
        }
    }
}

struct PadStep: Step {
    let input: Slot
    let inputDims: [Int]
    let output: Slot
    let outputDims: [Int]
    let begin: [Int]
    let value: Float
    let context: KernelContext
    var kind: String { "Pad" }

    func execute(_ arena: Arena) throws {
        let src = UnsafePointer(arena.pointer(input)), dst = arena.pointer(output)
        let rank = inputDims.count, inner = inputDims[rank - 1]
        dst.update(repeating: value, count: output.count)
        guard inner > 0 else { return }
        let rows = input.count / inner
        var outStrides = [Int](repeating: 1, count: rank)
        for axis in stride(from: rank - 2, through: 0, by: -1) { outStrides[axis] = outStrides[axis + 1] * outputDims[axis + 1] }
        // Input row r (all axes but the last) lands at its padded position in the output.
        nonisolated(unsafe) let s = src, d = dst
        let dims = inputDims, first = begin, strides = outStrides
        context.pool.parallelFor(rows) { range in
            for row in range {
                var rest = row, offset = first[rank - 1]
                for axis in stride(from: rank - 2, through: 0, by: -1) {
                    offset += (rest % dims[axis] + first[axis]) * strides[axis]
                    rest /= dims[axis]
                }
                (d + offset).update(from: s + row * inner, count: inner)
            }
        }
    }
}
