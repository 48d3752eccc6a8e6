/// Pad, Slice and Split. Pad and Slice are per-axis gathers (`AxisMaps`); their attribute
/// forms moved to inputs over the opsets (Pad's pads at 11, its axes at 18; Slice's
/// starts/ends/axes at 10), and the rules read whichever the node's opset defines. The pads,
/// starts, ends, axes and steps must be constants (they fix the output shape).
enum PadSliceGradients {
    static let all: [GradientRule] = [
        GradientRule("Pad") { ctx throws(AutodiffError) in try pad(ctx) },
        GradientRule("Slice") { ctx throws(AutodiffError) in try slice(ctx) },
        GradientRule("Split") { ctx throws(AutodiffError) in try SplitStep(ctx) },
    ]

    static func requireConstant(_ ctx: RuleContext, _ index: Int, _ name: String) throws(AutodiffError) {
        if index < ctx.dynamic.count, ctx.dynamic[index] { throw ctx.error("\(name) (input \(index)) must be a constant for training") }
    }

    static func normalizedAxes(_ ctx: RuleContext, _ axes: [Int], rank: Int) throws(AutodiffError) -> [Int] {
        var seen = Set<Int>()
        return try axes.map { a throws(AutodiffError) in
            let axis = a < 0 ? a + rank : a
            guard (0..<rank).contains(axis), seen.insert(axis).inserted else { throw ctx.error("axes \(axes) are out of range or repeated for rank \(rank)") }
            return axis
        }
    }

    static func pad(_ ctx: RuleContext) throws(AutodiffError) -> DifferentiableStep {
        let x = try ctx.inputShape(0)
        let opset = ctx.attributes.opset
        let mode = try ctx.attribute { try $0.string("mode", default: "constant") }
        var pads: [Int], fill: Float, axes = Array(x.indices)
        if opset >= 11 {
            for (i, name) in [(1, "pads"), (2, "constant_value"), (3, "axes")] { try requireConstant(ctx, i, name) }
            guard let p = try ctx.constantInts(1) else { throw ctx.error("the pads input is missing") }
            pads = p
            fill = try ctx.constantFloats(2)?.first ?? 0
            if opset >= 18, let a = try ctx.constantInts(3) { axes = try normalizedAxes(ctx, a, rank: x.count) }
        } else {
            let name = opset < 2 ? "paddings" : "pads"
            guard let p = try ctx.attribute({ try $0.ints(name) }) else { throw ctx.error("the \(name) attribute is missing") }
            pads = p
            fill = try ctx.attribute { try $0.float("value", default: 0) }
        }
        guard pads.count == 2 * axes.count else { throw ctx.error("pads has \(pads.count) values for \(axes.count) axes") }
        guard ["constant", "reflect", "edge"].contains(mode) else { throw ctx.error("mode '\(mode)' is not supported for training (constant, reflect, edge)") }
        var maps = x.map { Array(0..<$0) }
        for (k, axis) in axes.enumerated() {
            let (begin, end, n) = (pads[k], pads[axes.count + k], x[axis])
            let length = n + begin + end
            guard length >= 0 else { throw ctx.error("pads \(begin), \(end) crop more than axis \(axis) holds (\(n))") }
            if mode == "reflect", begin > n - 1 || end > n - 1 {
                throw ctx.error("reflect pads \(begin), \(end) must be smaller than axis \(axis) (\(n))")
            }
            if mode == "edge", n == 0, length > 0 { throw ctx.error("edge padding of an empty axis \(axis)") }
            maps[axis] = (0..<length).map { o in
                let i = o - begin
                if (0..<n).contains(i) { return i }
                switch mode {
                case "reflect": return i < 0 ? -i : 2 * (n - 1) - i
                case "edge": return min(max(i, 0), n - 1)
                default: return -1
                }
            }
        }
        let map = AxisMaps(inputDims: x, maps: maps)
        if let inferred = ctx.outputShapes.first ?? nil, inferred != map.outputDims {
            throw ctx.error("padded shape \(map.outputDims) disagrees with shape inference's \(inferred)")
        }
        return AxisMapStep(label: ctx.label, map: map, fill: fill)
    }

    static func slice(_ ctx: RuleContext) throws(AutodiffError) -> DifferentiableStep {
        let x = try ctx.inputShape(0)
        var starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?
        if ctx.attributes.opset >= 10 {
            for (i, name) in [(1, "starts"), (2, "ends"), (3, "axes"), (4, "steps")] { try requireConstant(ctx, i, name) }
            guard let s = try ctx.constantInts(1), let e = try ctx.constantInts(2) else { throw ctx.error("the starts and ends inputs are required") }
            (starts, ends) = (s, e)
            axes = try ctx.constantInts(3)
            steps = try ctx.constantInts(4)
        } else {
            guard let s = try ctx.attribute({ try $0.ints("starts") }), let e = try ctx.attribute({ try $0.ints("ends") }) else {
                throw ctx.error("the starts and ends attributes are required")
            }
            (starts, ends) = (s, e)
            axes = try ctx.attribute { try $0.ints("axes") }
            steps = nil
        }
        let axisList = try normalizedAxes(ctx, axes ?? Array(0..<starts.count), rank: x.count)
        let stepList = steps ?? [Int](repeating: 1, count: starts.count)
        guard ends.count == starts.count, axisList.count == starts.count, stepList.count == starts.count else {
            throw ctx.error("starts, ends, axes and steps differ in length (\(starts.count), \(ends.count), \(axisList.count), \(stepList.count))")
        }
        var maps = x.map { Array(0..<$0) }
        for (k, axis) in axisList.enumerated() {
            let n = x[axis], step = stepList[k]
            guard step != 0 else { throw ctx.error("steps must not be 0 (axis \(axis))") }
            var start = starts[k] < 0 ? starts[k] + n : starts[k]
            var end = ends[k] < 0 ? ends[k] + n : ends[k]
            // ONNX clamps: [0, n] going forwards, [−1, n − 1] going backwards.
            if step > 0 {
                start = min(max(start, 0), n); end = min(max(end, 0), n)
            } else {
                start = min(max(start, 0), n - 1); end = min(max(end, -1), n - 1)
            }
            let count = step > 0 ? max(0, (end - start + step - 1) / step) : max(0, (start - end - step - 1) / -step)
            maps[axis] = (0..<count).map { start + $0 * step }
        }
        let map = AxisMaps(inputDims: x, maps: maps)
        if let inferred = ctx.outputShapes.first ?? nil, inferred != map.outputDims {
            throw ctx.error("sliced shape \(map.outputDims) disagrees with shape inference's \(inferred)")
        }
        return AxisMapStep(label: ctx.label, map: map, fill: 0)
    }
}

/// Split along one axis into consecutive parts: sizes from the `split` attribute (before 13),
/// the `split` input (from 13), `num_outputs` (from 18: ceil-sized parts, the last smaller),
/// or equal parts, one per output. Each input row of `outer` blocks is cut into the parts.
final class SplitStep: DifferentiableStep {
    let label: String
    let inputDims: [Int]
    let axis: Int
    let sizes: [Int]
    let outer: Int, inner: Int

    init(_ ctx: RuleContext) throws(AutodiffError) {
        label = ctx.label
        let x = try ctx.inputShape(0)
        let raw = try ctx.attribute { try $0.int("axis", default: 0) }
        axis = raw < 0 ? raw + x.count : raw
        guard (0..<x.count).contains(axis) else { throw ctx.error("axis \(raw) is out of range for rank \(x.count)") }
        let n = x[axis], parts = ctx.node.outputs.count
        var sizes: [Int]?
        if ctx.attributes.opset >= 13 {
            try PadSliceGradients.requireConstant(ctx, 1, "split")
            sizes = try ctx.constantInts(1)
        } else {
            sizes = try ctx.attribute { try $0.ints("split") }
        }
        if sizes == nil, ctx.attributes.opset >= 18, let count = try ctx.attribute({ try $0.ints("num_outputs") })?.first {
            guard count == parts, count >= 1 else { throw ctx.error("num_outputs \(count) differs from the node's \(parts) outputs") }
            let size = (n + count - 1) / count
            sizes = (0..<count).map { min(size, max(0, n - $0 * size)) }
        }
        if sizes == nil {
            guard parts >= 1, n % parts == 0 else { throw ctx.error("axis \(axis) of length \(n) does not split into \(parts) equal parts; give split") }
            sizes = [Int](repeating: n / parts, count: parts)
        }
        guard let sizes, sizes.count == parts, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == n else {
            throw ctx.error("split \(sizes ?? []) does not cut axis \(axis) of length \(n) into \(parts) parts")
        }
        for (i, s) in sizes.enumerated() {
            if let inferred = ctx.outputShapes[i], inferred[axis] != s { throw ctx.error("part \(i) has \(s) along axis \(axis); shape inference says \(inferred)") }
        }
        self.sizes = sizes
        inputDims = x
        outer = x[..<axis].reduce(1, *)
        inner = x[(axis + 1)...].reduce(1, *)
    }

    private func dims(_ part: Int) -> [Int] { var d = inputDims; d[axis] = sizes[part]; return d }

    func forward(_ inputs: [FloatTensor?]) throws(AutodiffError) -> [FloatTensor] {
        guard let x = inputs[0] else { throw .node(label, "input 0 is missing") }
        let row = inputDims[axis] * inner
        var start = 0
        return sizes.indices.map { part in
            let block = sizes[part] * inner
            var y = [Float](); y.reserveCapacity(outer * block)
            for o in 0..<outer { y.append(contentsOf: x.scalars[(o * row + start)..<(o * row + start + block)]) }
            start += block
            return FloatTensor(dims: dims(part), scalars: y)
        }
    }

    func backward(_ outputGradients: [FloatTensor?], wanted: [Bool]) throws(AutodiffError) -> [FloatTensor?] {
        var grads: [FloatTensor?] = Array(repeating: nil, count: wanted.count)
        guard wanted[0] else { return grads }
        var dx = [Float](repeating: 0, count: inputDims.reduce(1, *))
        let row = inputDims[axis] * inner
        var start = 0
        for (part, size) in sizes.enumerated() {
            let block = size * inner
            if let g = outputGradients[part] {
                for o in 0..<outer { dx.replaceSubrange((o * row + start)..<(o * row + start + block), with: g.scalars[(o * block)..<((o + 1) * block)]) }
            }
            start += block
        }
        grads[0] = FloatTensor(dims: inputDims, scalars: dx)
        return grads
    }

    func release() {}
}
