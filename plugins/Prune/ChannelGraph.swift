import SegGraph
import SegReference
import SegTensor

/// Which channels of which values must be pruned together.
///
/// Every runtime value with a known channel axis (axis 1, NCHW) gets one element per channel;
/// each operator's coupling rule unions elements (a union-find), so one set, a *channel class*,
/// is what pruning removes: its elements disappear from every producer and consumer at once.
/// Classes touching the same values form a *group* (one conv's output, a residual chain, one
/// concat branch), the unit that gets a ratio. Graph inputs and outputs, and any value an
/// operator without a coupling rule touches, are blocked: their classes are never pruned.
struct ChannelGraph: Sendable {
    /// Channel count of every tracked value.
    private(set) var channels: [String: Int] = [:]
    private var base: [String: Int] = [:]
    private var parent: [Int] = []
    private var blockedElement: [Bool] = []
    /// Why values were blocked (first reason per value), for the report.
    private(set) var blockReasons: [String: String] = [:]
    /// Conv/ConvTranspose whose output rows (columns) define importance and are removed.
    private(set) var producers: [Producer] = []
    private(set) var groups: [ChannelGroup] = []
    /// The normalized model the graph was built on (Constant nodes as initializers, nodes in
    /// topological order); the rewriter edits this one.
    let model: Model
    let inference: ShapeInference
    /// Constant/Identity nodes turned into initializers by `normalized`.
    let restorable: [(Node, Tensor)]

    struct Producer: Sendable {
        var node: String
        var opType: String
        var weight: String
        var output: String
        /// Weight axis indexed by output channel (0 for Conv, 1 for ConvTranspose).
        var axis: Int
        var group: Int
    }

    init(model source: Model, exclude: Set<String> = []) throws {
        (model, restorable) = try Self.normalized(source)
        inference = try ShapeInference(model: model)
        let g = model.graph
        for node in g.nodes {
            for name in node.inputs + node.outputs where !name.isEmpty { track(name) }
        }
        for input in g.inputs { track(input.name) }
        parent = Array(0..<blockedElement.count)

        for input in g.runtimeInputs { block(input.name, "model input") }
        for output in g.outputs { block(output.name, "model output") }
        for node in g.nodes { couple(node) }
        for node in g.nodes where exclude.contains(node.name) {
            for v in node.outputs { block(v, "excluded node '\(node.name)'") }
        }
        buildGroups()
    }

    // MARK: - Elements

    private mutating func track(_ name: String) {
        guard channels[name] == nil, !model.graph.initializers.contains(name), inference.constants[name] == nil,
              let dims = inference.types[name]?.shape, dims.count >= 3, case .value(let c) = dims[1], c > 0 else { return }
        channels[name] = c
        base[name] = blockedElement.count
        blockedElement += Array(repeating: false, count: c)
    }

    func element(_ value: String, _ channel: Int) -> Int? {
        guard let b = base[value], let c = channels[value], channel >= 0, channel < c else { return nil }
        return b + channel
    }

    /// Class (union-find root) of one channel of a tracked value.
    func root(_ value: String, _ channel: Int) -> Int? {
        guard var e = element(value, channel) else { return nil }
        while parent[e] != e { e = parent[e] }
        return e
    }

    private mutating func find(_ e: Int) -> Int {
        var r = e
        while parent[r] != r { r = parent[r] }
        var x = e
        while parent[x] != r { let next = parent[x]; parent[x] = r; x = next }
        return r
    }

    private mutating func union(_ a: String, _ ca: Int, _ b: String, _ cb: Int) {
        guard let ea = element(a, ca), let eb = element(b, cb) else { return }
        let ra = find(ea), rb = find(eb)
        if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
    }

    /// Unions channel c of `a` with channel c of `b`; blocks both when counts differ.
    private mutating func unionAll(_ a: String, _ b: String, _ why: String) {
        guard let ca = channels[a], let cb = channels[b], ca == cb else { block(a, why); block(b, why); return }
        for c in 0..<ca { union(a, c, b, c) }
    }

    private mutating func blockAll(_ values: [String], _ label: String, _ why: String) {
        for v in values { block(v, "\(label): \(why)") }
    }

    private mutating func block(_ value: String, _ why: String) {
        guard let b = base[value], let c = channels[value] else { return }
        if blockReasons[value] == nil { blockReasons[value] = why }
        for i in b..<(b + c) { blockedElement[i] = true }
    }

    // MARK: - Coupling rules

    static let passthrough: Set<String> = [
        "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Clip", "Elu", "Selu", "Gelu", "Softplus",
        "Softsign", "Mish", "Erf", "Identity", "Dropout", "BatchNormalization", "InstanceNormalization", "PRelu",
        "Resize", "Upsample", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "Abs", "Neg",
        "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Cast", "ThresholdedRelu", "Celu", "Sin", "Cos",
    ]
    static let elementwise: Set<String> = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where"]

    func constant(_ name: String) -> Tensor? {
        name.isEmpty ? nil : model.graph.initializers[name]
    }

    func ints(_ name: String) -> [Int]? {
        guard let t = constant(name), t.dtype == .i64 || t.dtype == .i32 else { return nil }
        if t.dtype == .i64 { return (try? t.scalars(as: Int64.self))?.map(Int.init) }
        return (try? t.scalars(as: Int32.self))?.map(Int.init)
    }

    func rank(_ name: String) -> Int? { inference.types[name]?.shape?.count }

    private mutating func couple(_ node: Node) {
        let label = "'\(node.name)' (\(node.opType))"
        let tracked = (node.inputs + node.outputs).filter { channels[$0] != nil }
        guard node.domain.isEmpty || node.domain == "ai.onnx" else { blockAll(tracked, label, "custom domain"); return }
        let x = node.inputs.first ?? "", y = node.outputs.first ?? ""
        switch node.opType {
        case "Shape", "Size":
            return  // reads dims only; the shape subgraph recomputes after pruning
        case "Conv", "ConvTranspose":
            coupleConv(node, label: label, tracked: tracked)
        case _ where Self.passthrough.contains(node.opType):
            guard channels[x] != nil, channels[y] != nil else { blockAll(tracked, label, "channel count unknown"); return }
            unionAll(x, y, "\(label): channel count changes")
            // Per-channel parameters must be constants we can slice; a dropout mask output is rare.
            if ["BatchNormalization", "InstanceNormalization"].contains(node.opType),
               node.inputs.dropFirst().contains(where: { !$0.isEmpty && constant($0) == nil }) {
                blockAll(tracked, label, "per-channel parameters are not constants")
            }
            if node.outputs.dropFirst().contains(where: { !$0.isEmpty }) { blockAll(tracked, label, "extra outputs") }
        case "Pad":
            let pads = node.inputs.count > 1 ? ints(node.inputs[1]) : node[attribute: "pads"]?.intsValue
            guard let pads, let r = rank(x), pads.count == 2 * r, pads[1] == 0, pads[r + 1] == 0,
                  node.inputs.count <= 3 || node.inputs[3].isEmpty else { blockAll(tracked, label, "pads the channel axis or pads are not constant"); return }
            unionAll(x, y, "\(label): channel count changes")
        case "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceL2", "ReduceL1":
            let axes = node.inputs.count > 1 ? ints(node.inputs[1]) : node[attribute: "axes"]?.intsValue
            guard let axes, let r = rank(x), (node[attribute: "keepdims"]?.intValue ?? 1) == 1,
                  !axes.map({ $0 < 0 ? $0 + r : $0 }).contains(1) else { blockAll(tracked, label, "reduces the channel axis"); return }
            unionAll(x, y, "\(label): channel count changes")
        case "Softmax", "LogSoftmax":
            guard let r = rank(x), case let axis = node[attribute: "axis"]?.intValue ?? -1, (axis < 0 ? axis + r : axis) != 1 else {
                blockAll(tracked, label, "normalizes over channels"); return
            }
            unionAll(x, y, "\(label): channel count changes")
        case _ where Self.elementwise.contains(node.opType):
            guard let c = channels[y], let r = rank(y) else { blockAll(tracked, label, "output channel count unknown"); return }
            for input in node.inputs where !input.isEmpty {
                if channels[input] != nil {
                    guard rank(input) == r else { blockAll(tracked, label, "broadcasts a feature map across ranks"); return }
                    if channels[input] == c { unionAll(input, y, label) } else if channels[input] != 1 { blockAll(tracked, label, "channel counts differ") }
                } else if constant(input) == nil, let dims = inference.types[input]?.concreteDims ?? inference.constants[input]?.dims {
                    // A runtime (non-initializer) operand broadcasting along channels cannot be sliced.
                    let axis = 1 - (r - dims.count)
                    if axis >= 0, dims[axis] == c, c > 1 { blockAll(tracked, label, "operand '\(input)' is per-channel but not a constant") }
                } else if constant(input) == nil {
                    blockAll(tracked, label, "operand '\(input)' has an unknown shape")
                }
            }
        case "Concat":
            guard let r = rank(y), let a = node[attribute: "axis"]?.intValue else { blockAll(tracked, label, "unknown rank"); return }
            let axis = a < 0 ? a + r : a
            if axis == 1 {
                guard node.inputs.allSatisfy({ channels[$0] != nil }), channels[y] == node.inputs.reduce(0, { $0 + (channels[$1] ?? 0) }) else {
                    blockAll(tracked, label, "concatenates constants along channels"); return
                }
                var offset = 0
                for input in node.inputs {
                    for c in 0..<(channels[input] ?? 0) { union(input, c, y, offset + c) }
                    offset += channels[input] ?? 0
                }
            } else {
                for input in node.inputs where channels[input] != nil { unionAll(input, y, label) }
            }
        case "Split":
            guard let r = rank(x), let cx = channels[x] else { blockAll(tracked, label, "unknown rank"); return }
            let a = node[attribute: "axis"]?.intValue ?? 0
            if (a < 0 ? a + r : a) != 1 {
                for out in node.outputs where !out.isEmpty { unionAll(x, out, label) }
                return
            }
            guard let sizes = splitSizes(node, channels: cx), node.outputs.allSatisfy({ channels[$0] != nil }) else {
                blockAll(tracked, label, "split sizes are not constant"); return
            }
            var offset = 0
            for (out, n) in zip(node.outputs, sizes) {
                for c in 0..<n { union(x, offset + c, out, c) }
                offset += n
            }
        case "Slice":
            guard let r = rank(x), node.inputs.count >= 3, let starts = ints(node.inputs[1]), let ends = ints(node.inputs[2]) else {
                blockAll(tracked, label, "slice bounds are not constants"); return
            }
            let axes = node.inputs.count > 3 && !node.inputs[3].isEmpty ? ints(node.inputs[3]) : Array(0..<starts.count)
            let steps = node.inputs.count > 4 && !node.inputs[4].isEmpty ? ints(node.inputs[4]) : Array(repeating: 1, count: starts.count)
            guard let axes, let steps, axes.count == starts.count else { blockAll(tracked, label, "slice axes are not constants"); return }
            guard let k = axes.firstIndex(where: { ($0 < 0 ? $0 + r : $0) == 1 }) else { unionAll(x, y, label); return }
            guard steps[k] == 1, let cx = channels[x], let cy = channels[y] else { blockAll(tracked, label, "strided slice along channels"); return }
            let start = Self.clampStart(starts[k], cx)
            guard cy == max(0, Self.clampEnd(ends[k], cx) - start) else { blockAll(tracked, label, "slice bounds disagree with shapes"); return }
            for c in 0..<cy { union(x, start + c, y, c) }
        default:
            blockAll(tracked, label, "no channel rule for \(node.opType)")
        }
    }

    static func clampStart(_ s: Int, _ n: Int) -> Int { min(max(s < 0 ? s + n : s, 0), n) }
    static func clampEnd(_ e: Int, _ n: Int) -> Int { min(max(e < 0 ? e + n : e, 0), n) }

    /// Output sizes of a channel Split (attribute, constant input, or equal parts).
    func splitSizes(_ node: Node, channels cx: Int) -> [Int]? {
        if node.inputs.count > 1, !node.inputs[1].isEmpty { return ints(node.inputs[1]) }
        if let s = node[attribute: "split"]?.intsValue { return s }
        let n = node.outputs.count
        guard n > 0 else { return nil }
        if let k = node[attribute: "num_outputs"]?.intValue, k > 0 {
            let part = (cx + k - 1) / k
            return (0..<k).map { min(part, max(0, cx - $0 * part)) }
        }
        guard cx % n == 0 else { return nil }
        return Array(repeating: cx / n, count: n)
    }

    private mutating func coupleConv(_ node: Node, label: String, tracked: [String]) {
        let x = node.inputs.first ?? "", y = node.outputs.first ?? ""
        guard node.inputs.count >= 2, let w = constant(node.inputs[1]), w.dims.count >= 3,
              channels[x] != nil, channels[y] != nil else { blockAll(tracked, label, "weights are not a constant"); return }
        if node.inputs.count > 2, !node.inputs[2].isEmpty, constant(node.inputs[2]) == nil { blockAll(tracked, label, "bias is not a constant"); return }
        let group = node[attribute: "group"]?.intValue ?? 1
        guard let cin = channels[x], let cout = channels[y], group >= 1, cin % group == 0, cout % group == 0 else {
            blockAll(tracked, label, "channels do not divide into groups"); return
        }
        let transpose = node.opType == "ConvTranspose"
        if transpose && group != 1 { blockAll(tracked, label, "grouped ConvTranspose"); return }
        producers.append(Producer(node: node.name, opType: node.opType, weight: node.inputs[1], output: y, axis: transpose ? 1 : 0, group: group))
        guard group > 1 else { return }
        // A group's inputs and outputs live or die together: removing whole groups keeps the
        // per-group channel counts equal (depthwise is the case of one channel per group).
        let cinG = cin / group, coutG = cout / group
        for gi in 0..<group {
            for c in 0..<cinG { union(x, gi * cinG + c, y, gi * coutG) }
            for c in 1..<max(coutG, 1) { union(y, gi * coutG + c, y, gi * coutG) }
        }
    }

    // MARK: - Groups

    private mutating func buildGroups() {
        var classValues: [Int: Set<String>] = [:]
        var classBlocked: [Int: Bool] = [:]
        var firstSeen: [Int: (value: String, channel: Int)] = [:]
        for (value, c) in channels.sorted(by: { base[$0.key] ?? 0 < base[$1.key] ?? 0 }) {
            for ch in 0..<c {
                guard let e = element(value, ch) else { continue }
                let r = find(e)
                classValues[r, default: []].insert(value)
                if blockedElement[e] { classBlocked[r] = true }
                if firstSeen[r] == nil { firstSeen[r] = (value, ch) }
            }
        }
        var producedClasses = Set<Int>()
        var producerOf: [Int: String] = [:]
        for p in producers {
            for ch in 0..<(channels[p.output] ?? 0) {
                guard let r = root(p.output, ch) else { continue }
                producedClasses.insert(r)
                if producerOf[r] == nil { producerOf[r] = p.node }
            }
        }
        var byKey: [[String]: [Int]] = [:]
        for (r, values) in classValues where classBlocked[r] != true && producedClasses.contains(r) {
            byKey[values.sorted(), default: []].append(r)
        }
        let order = Dictionary(model.graph.nodes.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: min)
        groups = byKey.map { key, roots in
            let sorted = roots.sorted()
            let names = Set(sorted.compactMap { producerOf[$0] })
            let name = names.min { (order[$0] ?? 0, $0) < (order[$1] ?? 0, $1) } ?? key[0]
            let nodes = producers.filter { key.contains($0.output) }.map(\.node)
            return ChannelGroup(name: name, classes: sorted, values: key, producerNodes: nodes)
        }.sorted { (order[$0.name] ?? Int.max, $0.name, $0.classes.first ?? 0) < (order[$1.name] ?? Int.max, $1.name, $1.classes.first ?? 0) }
        // A conv whose channels split into several groups (Split/Slice) names them name#2, name#3, ...
        var seen: [String: Int] = [:]
        for i in groups.indices {
            let n = seen[groups[i].name, default: 0] + 1
            seen[groups[i].name] = n
            if n > 1 { groups[i].name += "#\(n)" }
        }
    }

    // MARK: - Normalization

    /// Constant nodes (and Identity of an initializer) become initializers, so per-channel
    /// operands can be sliced like any weight, and nodes are put in topological order; the
    /// numbers do not change. `restorable`: the nodes replaced, put back where untouched.
    static func normalized(_ source: Model) throws -> (Model, restorable: [(Node, Tensor)]) {
        var m = source
        var g = m.graph
        var kept: [Node] = []
        var restorable: [(Node, Tensor)] = []
        for node in try g.sortedNodes() {
            // Exporters share equal tensors through Identity (torchscript's deduplicated zero biases).
            let value = node.opType == "Constant" ? node[attribute: "value"]?.tensorValue
                : node.opType == "Identity" ? node.inputs.first.flatMap { g.initializers[$0] } : nil
            if node.domain.isEmpty, let out = node.outputs.first, !out.isEmpty, !g.isOutput(out), let value {
                g.initializers[out] = value
                restorable.append((node, value))
            } else {
                kept.append(node)
            }
        }
        // Unnamed nodes get names: groups, ratios and reports refer to nodes by name.
        var used = Set(kept.map(\.name))
        for i in kept.indices where kept[i].name.isEmpty {
            var k = i, name = "\(kept[i].opType)_\(i)"
            while used.contains(name) { k += 1; name = "\(kept[i].opType)_\(i)_\(k)" }
            used.insert(name)
            kept[i].name = name
        }
        g.nodes = kept
        m.graph = g
        return (m, restorable)
    }
}

extension Graph {
    func isOutput(_ name: String) -> Bool { outputs.contains { $0.name == name } }
}

/// Channel classes that touch the same values: one conv's output channels, a residual chain,
/// one concat branch. The unit a ratio applies to; `name` is its first producer node.
struct ChannelGroup: Sendable {
    var name: String
    /// Prunable classes (union-find roots), ascending.
    var classes: [Int]
    var values: [String]
    var producerNodes: [String]
}
