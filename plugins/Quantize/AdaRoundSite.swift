import SegGraph
import SegTechnique
import SegTensor

/// One quantized Conv/Gemm/MatMul seen as AdaRound's matrix problem: which input it reads,
/// its weights as `[outputs][depth]` rows per group, and how to cut the rows `X` (im2col
/// patches of sampled output positions, or sampled rows of a matrix input) out of that input.
struct AdaRoundSite: Sendable {
    enum Kind: Sendable {
        /// 2-D convolution: `[N, C, H, W]` input, patches ordered (channel, ky, kx) like the weight.
        case conv(ConvGeometry, kernel: [Int])
        /// Gemm/MatMul: the input's last axis is the depth, every leading index a row.
        case matrix
    }

    var label: String
    var input: String
    var weightName: String
    var weight: Tensor
    /// Per-channel axis of the stored weight (`QuantizationPlan.Role.compute`'s).
    var axis: Int
    var kind: Kind
    /// Stored `[depth, outputs]` (Gemm without transB, MatMul) rather than `[outputs, depth]`.
    var transposed: Bool
    var groups: Int
    var outPerGroup: Int
    var depth: Int
    var limit: Int

    /// The sites of a plan's compute nodes in graph order, and the ones left to round-to-nearest with why.
    static func sites(_ plan: QuantizationPlan, weightLimit: Int) -> (sites: [AdaRoundSite], skipped: [(String, String)]) {
        var sites: [AdaRoundSite] = [], skipped: [(String, String)] = []
        var seen = Set<String>()
        for q in plan.quantized {
            guard case .compute(let wi, let axis, _) = q.role else { continue }
            let node = q.node, label = QuantizationPlan.label(node, q.index)
            let wName = node.inputs[wi]
            guard let w = plan.constant(wName), w.dtype == .f32 else { skipped.append((label, "weight is not a constant FP32 tensor")); continue }
            guard seen.insert(wName).inserted else { skipped.append((label, "weight shared with an earlier layer (rounded there)")); continue }
            let limit = QDQWriter.isDepthwise(node, weight: w) ? 127 : weightLimit
            let dims = w.dims
            switch node.opType {
            case "Conv":
                let group = node[attribute: "group"]?.intValue ?? 1
                guard dims.count == 4, group > 0, dims[0] % group == 0, let geometry = try? ConvGeometry(node) else {
                    skipped.append((label, "only 2-D convolutions are reconstructed")); continue
                }
                sites.append(AdaRoundSite(label: label, input: q.activationInputs[0], weightName: wName, weight: w, axis: axis,
                                          kind: .conv(geometry, kernel: Array(dims[2...])), transposed: false, groups: group,
                                          outPerGroup: dims[0] / group, depth: dims[1] * dims[2] * dims[3], limit: limit))
            case "Gemm", "MatMul":
                guard dims.count == 2 else { skipped.append((label, "weight is not 2-D")); continue }
                let transposed = axis == 1
                sites.append(AdaRoundSite(label: label, input: q.activationInputs[0], weightName: wName, weight: w, axis: axis,
                                          kind: .matrix, transposed: transposed, groups: 1,
                                          outPerGroup: transposed ? dims[1] : dims[0], depth: transposed ? dims[0] : dims[1], limit: limit))
            default:
                skipped.append((label, "\(node.opType) is not reconstructed"))
            }
        }
        return (sites, skipped)
    }

    /// The weights as `[outputs][depth]`.
    func matrix() throws -> [Float] {
        let v = try weight.converted(to: .f32).scalars(as: Float.self)
        guard transposed else { return v }
        let outputs = outPerGroup
        var out = [Float](repeating: 0, count: v.count)
        for d in 0..<depth { for o in 0..<outputs { out[o * depth + d] = v[d * outputs + o] } }
        return out
    }

    /// `[outputs][depth]` codes back in the stored layout, as the s8 tensor the writer stores.
    func codesTensor(_ codes: [Int8]) throws -> Tensor {
        var stored = codes
        if transposed {
            for d in 0..<depth { for o in 0..<outPerGroup { stored[d * outPerGroup + o] = codes[o * depth + d] } }
        }
        return try Tensor(dtype: .i8, shape: weight.shape, bytes: stored.map { UInt8(bitPattern: $0) })
    }

    /// Number of output positions (rows) this layer computes from an input of `dims`.
    func positions(_ dims: [Int]) throws -> Int {
        switch kind {
        case .conv(let geometry, let kernel):
            guard dims.count == 4 else { throw TechniqueError.failed("AdaRound: input of '\(label)' has shape \(dims), expected [N, C, H, W]") }
            let axes = try geometry.forwardAxes(input: Array(dims[2...]), kernel: kernel)
            return dims[0] * axes[0].output * axes[1].output
        case .matrix:
            guard let last = dims.last, last == depth else { throw TechniqueError.failed("AdaRound: input of '\(label)' has shape \(dims), expected a last axis of \(depth)") }
            return dims.dropLast().reduce(1, *)
        }
    }

    /// `count` output positions of one image, drawn with replacement (same seed: same
    /// positions); all of them, once each, when the image has no more than `count`.
    func samplePositions(_ dims: [Int], count: Int, seed: UInt64) throws -> [Int] {
        let total = try positions(dims)
        guard total > count else { return Array(0..<total) }
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in rng.int(total) }
    }

    /// Rows of `X` for `positions`, appended per group: `rows[g]` grows by positions × depth.
    func gather(_ t: Tensor, positions: [Int], into rows: inout [[Float]]) throws {
        let dims = t.dims
        let v = try t.converted(to: .f32).scalars(as: Float.self)
        switch kind {
        case .matrix:
            for p in positions { rows[0].append(contentsOf: v[(p * depth)..<((p + 1) * depth)]) }
        case .conv(let geometry, let kernel):
            let axes = try geometry.forwardAxes(input: Array(dims[2...]), kernel: kernel)
            let (channels, h, w) = (dims[1], dims[2], dims[3])
            let cinPerGroup = channels / groups
            guard cinPerGroup * kernel[0] * kernel[1] == depth, cinPerGroup * groups == channels else {
                throw TechniqueError.failed("AdaRound: input of '\(label)' has \(channels) channels, the weight expects \(depth / (kernel[0] * kernel[1])) per group × \(groups)")
            }
            let (oh, ow) = (axes[0].output, axes[1].output)
            for p in positions {
                let n = p / (oh * ow), oy = (p / ow) % oh, ox = p % ow
                for g in 0..<groups {
                    var patch = [Float](repeating: 0, count: depth)
                    var k = 0
                    for c in 0..<cinPerGroup {
                        let base = (n * channels + g * cinPerGroup + c) * h * w
                        for ky in 0..<kernel[0] {
                            let iy = oy * axes[0].stride - axes[0].padBegin + ky * axes[0].dilation
                            for kx in 0..<kernel[1] {
                                let ix = ox * axes[1].stride - axes[1].padBegin + kx * axes[1].dilation
                                if iy >= 0 && iy < h && ix >= 0 && ix < w { patch[k] = v[base + iy * w + ix] }
                                k += 1
                            }
                        }
                    }
                    rows[g].append(contentsOf: patch)
                }
            }
        }
    }
}
