import SegGraph
import SegRewrite
import SegTensor

extension ChannelGraph {
    /// The model with the channels outside `kept` removed from every weight, per-channel
    /// constant, split size, slice bound and resize size that indexes them. Values not in
    /// `kept` keep all channels.
    func rewrite(kept: [String: [Int]]) throws -> Model {
        var m = model
        var g = m.graph
        var reads: [String: Int] = [:]
        for node in g.nodes { for i in node.inputs where !i.isEmpty { reads[i, default: 0] += 1 } }
        let graphInputs = Set(g.inputs.map(\.name))
        var used = Set(g.initializers.names).union(graphInputs)
        for node in g.nodes { used.formUnion(node.outputs) }

        /// Replaces input `slot` of node `n` with a new constant; an initializer read
        /// elsewhere keeps its old value under its old name.
        func set(_ n: Int, _ slot: Int, _ t: Tensor) {
            let old = g.nodes[n].inputs[slot]
            var name = old
            if reads[old, default: 0] > 1 || graphInputs.contains(old) {
                var k = 1
                name = "\(old)_pruned"
                while used.contains(name) { k += 1; name = "\(old)_pruned\(k)" }
                used.insert(name)
            }
            g.initializers[name] = t
            g.nodes[n].inputs[slot] = name
        }

        for n in g.nodes.indices {
            let node = g.nodes[n]
            let x = node.inputs.first ?? "", y = node.outputs.first ?? ""
            let label = "'\(node.name)' (\(node.opType))"
            switch node.opType {
            case "Conv", "ConvTranspose":
                guard kept[x] != nil || kept[y] != nil, let w = constant(node.inputs[1]) else { continue }
                let group = node[attribute: "group"]?.intValue ?? 1
                let transpose = node.opType == "ConvTranspose"
                var nw = w
                if let kout = kept[y] { nw = try Self.take(nw, axis: transpose ? 1 : 0, kout) }
                if let kin = kept[x] {
                    if transpose || group == 1 {
                        nw = try Self.take(nw, axis: transpose ? 0 : 1, kin)
                    } else {
                        // Whole groups go (ChannelGraph couples them), so W's per-group input axis stays.
                        let cin = channels[x] ?? 0
                        guard cin > 0, (kin.count * group) % cin == 0 else { throw PruneError.inconsistent("\(label): kept inputs split a group") }
                        g.nodes[n][attribute: "group"] = .int(kin.count * group / cin)
                    }
                }
                set(n, 1, nw)
                if node.inputs.count > 2, let b = constant(node.inputs[2]), let kout = kept[y] { set(n, 2, try Self.take(b, axis: 0, kout)) }
            case "BatchNormalization", "InstanceNormalization":
                guard let kin = kept[x] else { continue }
                for slot in 1..<node.inputs.count {
                    if let t = constant(node.inputs[slot]), t.dims.first == channels[x] { set(n, slot, try Self.take(t, axis: 0, kin)) }
                }
            case _ where node.opType == "PRelu" || node.opType == "Concat" || Self.elementwise.contains(node.opType):
                // Per-channel constant operands follow the output's channels (broadcast from the right).
                guard let kout = kept[y], let c = channels[y], let r = rank(y), c > 1 else { continue }
                if node.opType == "Concat", let a = node[attribute: "axis"]?.intValue, (a < 0 ? a + r : a) == 1 { continue }
                for slot in node.inputs.indices {
                    guard let t = constant(node.inputs[slot]) else { continue }
                    let axis = 1 - (r - t.dims.count)
                    if axis >= 0, t.dims[axis] == c { set(n, slot, try Self.take(t, axis: axis, kout)) }
                }
            case "Split":
                guard let r = rank(x), let cx = channels[x], kept[x] != nil,
                      (node[attribute: "axis"]?.intValue ?? 0).normalized(r) == 1 else { continue }
                let sizes = node.outputs.map { kept[$0]?.count ?? channels[$0] ?? 0 }
                guard splitSizes(node, channels: cx) != nil else { throw PruneError.inconsistent("\(label): split sizes unknown") }
                if node.inputs.count > 1, !node.inputs[1].isEmpty {
                    set(n, 1, try Tensor(dims: [sizes.count], scalars: sizes.map(Int64.init)))
                } else if node[attribute: "split"] != nil || (m.opsetVersion(for: "") ?? 13) < 13 {
                    g.nodes[n][attribute: "split"] = .ints(sizes)
                } else {
                    var name = "\(node.name)_split", k = 1
                    while used.contains(name) { k += 1; name = "\(node.name)_split\(k)" }
                    used.insert(name)
                    g.initializers[name] = try Tensor(dims: [sizes.count], scalars: sizes.map(Int64.init))
                    g.nodes[n].inputs = [x, name]
                    g.nodes[n][attribute: "num_outputs"] = nil
                }
            case "Slice":
                guard let kx = kept[x], let r = rank(x), let cx = channels[x], let starts = ints(node.inputs[1]), let ends = ints(node.inputs[2])
                else { continue }
                let axes = node.inputs.count > 3 && !node.inputs[3].isEmpty ? ints(node.inputs[3]) : Array(0..<starts.count)
                guard let k = axes?.firstIndex(where: { $0.normalized(r) == 1 }) else { continue }
                let start = Self.clampStart(starts[k], cx)
                let newStart = kx.filter { $0 < start }.count
                var s = starts, e = ends
                s[k] = newStart
                e[k] = newStart + (kept[y]?.count ?? channels[y] ?? 0)
                set(n, 1, try Tensor(dims: [s.count], scalars: s.map(Int64.init)))
                set(n, 2, try Tensor(dims: [e.count], scalars: e.map(Int64.init)))
            case "Resize", "Upsample":
                guard let kx = kept[x], node.inputs.count > 3, var sizes = ints(node.inputs[3]), sizes.count > 1 else { continue }
                sizes[1] = kx.count
                set(n, 3, try Tensor(dims: [sizes.count], scalars: sizes.map(Int64.init)))
            default:
                continue
            }
        }
        g.valueInfo.removeAll { kept[$0.name] != nil }
        // Untouched constants go back to being Constant/Identity nodes, so parameter counts
        // before and after compare like for like.
        for (node, tensor) in restorable.reversed() {
            guard let out = node.outputs.first, g.initializers[out] == tensor,
                  node.opType == "Constant" || node.inputs.first.map({ g.initializers[$0] == tensor }) == true else { continue }
            g.initializers[out] = nil
            g.nodes.insert(node, at: 0)
        }
        m.graph = g
        let (out, _) = try RewriteManager([EliminateDeadNodes()]).run(m)
        return out
    }

    /// The slices `indices` of `t` along `axis` (any dtype).
    static func take(_ t: Tensor, axis: Int, _ indices: [Int]) throws -> Tensor {
        let d = t.dims
        guard axis < d.count else { throw PruneError.inconsistent("axis \(axis) of a \(d.count)-D tensor") }
        if indices == Array(0..<d[axis]) { return t }
        let outer = d[..<axis].reduce(1, *), n = d[axis]
        let inner = d[(axis + 1)...].reduce(1, *) * t.dtype.byteSize
        guard indices.allSatisfy({ $0 >= 0 && $0 < n }) else { throw PruneError.inconsistent("channel index out of range for \(t)") }
        var bytes = [UInt8]()
        bytes.reserveCapacity(outer * indices.count * inner)
        t.bytes.withUnsafeBufferPointer { src in
            for o in 0..<outer {
                for i in indices {
                    let start = (o * n + i) * inner
                    bytes.append(contentsOf: src[start..<(start + inner)])
                }
            }
        }
        var nd = d
        nd[axis] = indices.count
        return try Tensor(dtype: t.dtype, shape: Shape(nd), bytes: bytes)
    }
}

extension Int {
    func normalized(_ rank: Int) -> Int { self < 0 ? self + rank : self }
}

/// Pruning failed for a reason in the model or an internal inconsistency; always names the node.
enum PruneError: Error, CustomStringConvertible {
    case inconsistent(String)

    var description: String {
        switch self {
        case .inconsistent(let why): "pruning produced an inconsistent graph: \(why)"
        }
    }
}
