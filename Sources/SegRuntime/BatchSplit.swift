import Dispatch
import SegGraph
import SegReference
import SegTensor
import Synchronization

/// Batches as images side by side: when every node of a model treats the items of its batch
/// independently, a batch of N runs as N batch-1 runs of one single-threaded plan, one image per
/// core at a time. A batched run of the plan compiled for N paid for every step's hand-off
/// between threads (hundreds of small layers) and worked on an arena N times larger than the
/// caches; side by side, each image runs on one core without either, so a batch costs at most
/// what its images cost one by one.
struct BatchSplit: Sendable {
    /// The plan for one image (batch 1), compiled single-threaded.
    let single: CompiledModel
    let batch: Int
    /// Images running at once (≤ the threads the model was compiled for).
    let workers: Int

    /// Whether every node of `model` (cleaned up, shapes inferred at batch `batch`) keeps the
    /// batch items apart: every value computed at run time has the batch as its first
    /// dimension, and every node is an op known to work per item (with axis and permutation
    /// attributes that leave axis 0 alone). Anything else (a reduction over the batch, a
    /// reshape that folds it, an unknown op) keeps the batched plan.
    static func separable(_ model: Model, inference: ShapeInference, batch: Int) -> Bool {
        let graph = model.graph
        func isConstant(_ name: String) -> Bool { graph.initializers[name] != nil || inference.constants[name] != nil }
        func batched(_ name: String) -> Bool {
            name.isEmpty || isConstant(name) || inference.types[name]?.shape?.first.flatMap { if case .value(let v) = $0 { v } else { nil } } == batch
        }
        func constantInts(_ name: String) -> [Int]? {
            guard let t = graph.initializers[name] ?? inference.constants[name], let v = try? t.converted(to: .i64).scalars(as: Int64.self) else { return nil }
            return v.map(Int.init)
        }
        func axisIsNotBatch(_ node: Node, default value: Int, rank: Int?) -> Bool {
            let a = node[attribute: "axis"]?.intValue ?? value
            guard let rank else { return a > 0 }
            return (a < 0 ? a + rank : a) != 0
        }
        /// A constant that broadcasts against the batch with one slice per item (its rank is the
        /// output's and its first dimension the batch): each item reads another part of it.
        func perItemConstant(_ node: Node) -> Bool {
            guard let outRank = node.outputs.first.flatMap({ inference.types[$0]?.shape?.count }) else { return true }
            return node.inputs.contains { name in
                guard !name.isEmpty, let t = graph.initializers[name] ?? inference.constants[name] else { return false }
                return t.dims.count == outRank && t.dims.first == batch
            }
        }
        for node in graph.nodes {
            guard node.inputs.allSatisfy(batched), node.outputs.allSatisfy(batched) else { return false }
            // (A conv's weights are [Cout, Cin, kH, kW]: a Cout equal to the batch is no slice per item.)
            if !["Conv", "ConvTranspose"].contains(node.opType) && perItemConstant(node) { return false }
            let rank = node.inputs.first.flatMap { inference.types[$0]?.shape?.count }
            let domain = node.domain.isEmpty || node.domain == "ai.onnx" ? "" : node.domain
            if domain == "ai.segslim" { continue }   // fused conv/attention/GELU: per-item kernels
            guard domain.isEmpty else { return false }
            switch node.opType {
            case "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Relu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu",
                 "Clip", "Erf", "Gelu", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Where", "Cast", "Identity", "Dropout",
                 "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Resize", "Upsample",
                 "Reshape", "MatMul", "BatchNormalization", "InstanceNormalization", "QuantizeLinear", "DequantizeLinear",
                 "Equal", "Less", "Greater", "Not", "And", "Or", "Floor", "Ceil", "Round", "Sin", "Cos", "Softplus", "Mish", "Elu",
                 "Selu", "PRelu", "GridSample":
                // Per element, per image, or (MatMul, Reshape keeping the batch first) per item.
                if node.opType == "QuantizeLinear" || node.opType == "DequantizeLinear",
                   let scale = node.inputs.dropFirst().first, (constantInts(scale)?.count ?? 1) > 1 {
                    guard axisIsNotBatch(node, default: 1, rank: rank) else { return false }
                }
                if node.opType == "BatchNormalization", (node[attribute: "training_mode"]?.intValue ?? 0) != 0 { return false }
            case "Concat", "Split", "Gather", "Softmax", "LogSoftmax", "ArgMax", "ArgMin", "LayerNormalization":
                let fallback = ["Softmax", "LogSoftmax", "LayerNormalization"].contains(node.opType) ? -1 : 0
                guard axisIsNotBatch(node, default: fallback, rank: rank) else { return false }
            case "Flatten":
                guard (node[attribute: "axis"]?.intValue ?? 1) >= 1 else { return false }
            case "Transpose":
                guard let perm = node[attribute: "perm"]?.intsValue, perm.first == 0 else { return false }
            case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceProd":
                let axes = node[attribute: "axes"]?.intsValue ?? (node.inputs.count > 1 ? constantInts(node.inputs[1]) : nil)
                guard let axes, !axes.isEmpty, let rank, axes.allSatisfy({ ($0 < 0 ? $0 + rank : $0) != 0 }) else { return false }
            case "Pad":
                guard let pads = node.inputs.count > 1 ? constantInts(node.inputs[1]) : node[attribute: "pads"]?.intsValue,
                      let rank, node.inputs.count < 4 || node.inputs[3].isEmpty, pads.count == 2 * rank,
                      pads[0] == 0, pads[rank] == 0 else { return false }
            case "Gemm":
                guard node.inputs.count >= 2, isConstant(node.inputs[1]), (node[attribute: "transA"]?.intValue ?? 0) == 0 else { return false }
            default:
                return false
            }
        }
        return graph.outputs.allSatisfy { batched($0.name) } && graph.runtimeInputs.allSatisfy { batched($0.name) }
    }

    /// Runs the batch as `workers` threads each taking images in turn; outputs concatenated
    /// along axis 0 in image order.
    func run(_ inputs: [String: Tensor], isCancelled: () -> Bool, profile: ((Int, String, Double) -> Void)?) throws -> [String: Tensor] {
        var parts: [[String: Tensor]] = []
        for i in 0..<batch { parts.append(try inputs.mapValues { try Self.item(i, of: $0, batch: batch) }) }
        var results = [[String: Tensor]?](repeating: nil, count: batch)
        if let profile {
            // A profile's callback is not made for several threads: images one after another.
            for i in 0..<batch { results[i] = try single.run(parts[i], isCancelled: isCancelled, profile: profile) }
        } else {
            let failure = Mutex<(any Error)?>(nil)
            nonisolated(unsafe) let slots = UnsafeMutableBufferPointer<[String: Tensor]?>.allocate(capacity: batch)
            slots.initialize(repeating: nil)
            defer { slots.deinitialize(); slots.deallocate() }
            nonisolated(unsafe) let cancelled = isCancelled
            let items = parts, plan = single, count = batch, stride = workers
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for i in Swift.stride(from: w, to: count, by: stride) {
                    if failure.withLock({ $0 != nil }) { return }
                    do { slots[i] = try plan.run(items[i], isCancelled: cancelled) } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                        return
                    }
                }
            }
            if let error = failure.withLock({ $0 }) { throw error }
            for i in 0..<batch { results[i] = slots[i] }
        }
        let outputs = results.compactMap { $0 }
        guard outputs.count == batch, let first = outputs.first else { return [:] }
        var joined: [String: Tensor] = [:]
        for name in first.keys {
            joined[name] = try Self.concatenate(outputs.compactMap { $0[name] })
        }
        return joined
    }

    /// Item `i` of a tensor whose first dimension is the batch.
    static func item(_ i: Int, of t: Tensor, batch: Int) throws -> Tensor {
        guard let first = t.dims.first, first == batch else { return t }
        let size = t.byteCount / batch
        return try Tensor(dtype: t.dtype, shape: try Shape([1] + t.dims.dropFirst()), bytes: Array(t.bytes[(i * size)..<((i + 1) * size)]))
    }

    /// Batch-1 tensors joined along axis 0.
    static func concatenate(_ items: [Tensor]) throws -> Tensor {
        guard let first = items.first else { throw ExecutionError.unknownOutput("(batch item outputs)", known: []) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(first.byteCount * items.count)
        for t in items { bytes += t.bytes }
        return try Tensor(dtype: first.dtype, shape: try Shape([items.count * (first.dims.first ?? 1)] + first.dims.dropFirst()), bytes: bytes)
    }
}
