import SegGraph
import SegTensor

/// Accumulates the nodes and initializers of one network in forward order.
///
/// Parameters are named after the PyTorch module they stand for (`backbone.1.block.0.0.weight`,
/// `classifier.cbr.1.running_var`), so a torchvision state dict maps onto the graph name for
/// name; nodes are named `/module/Op` as `torch.onnx.export` names them. Shape arithmetic uses
/// `Constant` nodes, so the initializers are exactly the network's parameters and buffers.
final class NetworkBuilder {
    private(set) var nodes: [Node] = []
    private(set) var initializers = Initializers()
    private var random: ParameterRandom
    private var usedNames: Set<String> = []
    var scheme: ParameterInit

    init(seed: UInt64, scheme: ParameterInit) {
        random = ParameterRandom(seed: seed)
        self.scheme = scheme
    }

    // MARK: - Parameters

    private func parameter(_ name: String, _ dims: [Int], _ values: [Float]) {
        // Shapes and counts come from this file's own arithmetic, never from user input.
        initializers[name] = try? Tensor(dims: dims, scalars: values)
    }

    /// `/module/Op`, then `/module/Op_1`, ... as the PyTorch exporter numbers repeats.
    private func nodeName(_ op: String, _ module: String) -> String {
        let base = (module.split(separator: ".") + [Substring(op)]).map { "/" + $0 }.joined()
        var name = base
        var n = 0
        while usedNames.contains(name) { n += 1; name = "\(base)_\(n)" }
        usedNames.insert(name)
        return name
    }

    @discardableResult
    func node(_ op: String, _ module: String, _ inputs: [String], _ attributes: [NamedAttribute] = [], output: String? = nil) -> String {
        let name = nodeName(op, module)
        let out = output ?? name + "_output_0"
        nodes.append(Node(name: name, opType: op, inputs: inputs, outputs: [out], attributes: attributes))
        return out
    }

    // MARK: - Layers

    /// `nn.Conv2d(in, out, k, stride, padding = (k - 1) / 2 · dilation, dilation, groups, bias)`.
    func conv(_ x: Feature, _ module: String, out: Int, kernel: Int = 1, stride: Int = 1, dilation: Int = 1,
              groups: Int = 1, bias: Bool = false) -> Feature {
        let inPerGroup = x.channels / groups
        let count = out * inPerGroup * kernel * kernel
        let weights: [Float]
        switch scheme {
        case .kaimingFanOut:
            weights = random.normals(count, std: (2.0 / Double(out * kernel * kernel)).squareRoot())
        case .pytorchDefault:
            weights = random.uniforms(count, bound: 1 / Double(inPerGroup * kernel * kernel).squareRoot())
        }
        parameter("\(module).weight", [out, inPerGroup, kernel, kernel], weights)
        var inputs = [x.name, "\(module).weight"]
        if bias {
            let values = scheme == .kaimingFanOut ? [Float](repeating: 0, count: out)
                : random.uniforms(out, bound: 1 / Double(inPerGroup * kernel * kernel).squareRoot())
            parameter("\(module).bias", [out], values)
            inputs.append("\(module).bias")
        }
        let pad = (kernel - 1) / 2 * dilation
        let y = node("Conv", module, inputs, [
            NamedAttribute("dilations", .ints([dilation, dilation])), NamedAttribute("group", .int(groups)),
            NamedAttribute("kernel_shape", .ints([kernel, kernel])), NamedAttribute("pads", .ints([pad, pad, pad, pad])),
            NamedAttribute("strides", .ints([stride, stride])),
        ])
        return Feature(name: y, channels: out)
    }

    /// `nn.BatchNorm2d(eps, momentum)`; ONNX's momentum is 1 − PyTorch's.
    func batchNorm(_ x: Feature, _ module: String, epsilon: Float = 1e-5, torchMomentum: Float = 0.1) -> Feature {
        let c = x.channels
        parameter("\(module).weight", [c], .init(repeating: 1, count: c))
        parameter("\(module).bias", [c], .init(repeating: 0, count: c))
        parameter("\(module).running_mean", [c], .init(repeating: 0, count: c))
        parameter("\(module).running_var", [c], .init(repeating: 1, count: c))
        let y = node("BatchNormalization", module, [x.name] + ["weight", "bias", "running_mean", "running_var"].map { "\(module).\($0)" },
                     [NamedAttribute("epsilon", .float(epsilon)), NamedAttribute("momentum", .float(1 - torchMomentum))])
        return Feature(name: y, channels: c)
    }

    func relu(_ x: Feature, _ module: String) -> Feature { Feature(name: node("Relu", module, [x.name]), channels: x.channels) }
    func hardSwish(_ x: Feature, _ module: String) -> Feature { Feature(name: node("HardSwish", module, [x.name]), channels: x.channels) }
    func sigmoid(_ x: Feature, _ module: String) -> Feature { Feature(name: node("Sigmoid", module, [x.name]), channels: x.channels) }
    /// PyTorch's Hardsigmoid, relu6(x + 3) / 6.
    func hardSigmoid(_ x: Feature, _ module: String) -> Feature {
        Feature(name: node("HardSigmoid", module, [x.name], [NamedAttribute("alpha", .float(1.0 / 6))]), channels: x.channels)
    }
    func globalAveragePool(_ x: Feature, _ module: String) -> Feature {
        Feature(name: node("GlobalAveragePool", module, [x.name]), channels: x.channels)
    }
    func maxPool(_ x: Feature, _ module: String, kernel: Int, stride: Int, pad: Int) -> Feature {
        Feature(name: node("MaxPool", module, [x.name], [
            NamedAttribute("kernel_shape", .ints([kernel, kernel])), NamedAttribute("pads", .ints([pad, pad, pad, pad])),
            NamedAttribute("strides", .ints([stride, stride])),
        ]), channels: x.channels)
    }
    func mul(_ a: Feature, _ b: Feature, _ module: String) -> Feature {
        Feature(name: node("Mul", module, [a.name, b.name]), channels: max(a.channels, b.channels))
    }
    func add(_ a: Feature, _ b: Feature, _ module: String) -> Feature {
        Feature(name: node("Add", module, [a.name, b.name]), channels: a.channels)
    }
    func concat(_ parts: [Feature], _ module: String) -> Feature {
        Feature(name: node("Concat", module, parts.map(\.name), [NamedAttribute("axis", .int(1))]),
                channels: parts.reduce(0) { $0 + $1.channels })
    }

    // MARK: - Shape plumbing

    func constant(_ values: [Int64], _ module: String) -> String {
        let tensor = (try? Tensor(dims: [values.count], scalars: values)) ?? Tensor(scalar: Int64(0))
        return node("Constant", module, [], [NamedAttribute("value", .tensor(tensor))])
    }

    /// `F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)`: the
    /// target size read from `like` at run time, so the graph works at any input size.
    /// `output` names the result (the graph output); by default it is named after the node.
    func resizeBilinear(_ x: Feature, like: String, _ module: String, output: String? = nil) -> Feature {
        let zero = constant([0], module), two = constant([2], module), four = constant([4], module)
        let nc = node("Slice", module, [node("Shape", module, [x.name]), zero, two])
        let hw = node("Slice", module, [node("Shape", module, [like]), two, four])
        let sizes = node("Concat", module, [nc, hw], [NamedAttribute("axis", .int(0))])
        let y = node("Resize", module, [x.name, "", "", sizes], [
            NamedAttribute("coordinate_transformation_mode", .string("half_pixel")), NamedAttribute("mode", .string("linear")),
        ], output: output)
        return Feature(name: y, channels: x.channels)
    }

    /// `x.chunk(2, dim=1)` for an even channel count.
    func halves(_ x: Feature, _ module: String) -> (Feature, Feature) {
        let half = x.channels / 2
        let split = constant([Int64(half), Int64(half)], module)
        let name = nodeName("Split", module)
        let a = name + "_output_0", b = name + "_output_1"
        nodes.append(Node(name: name, opType: "Split", inputs: [x.name, split], outputs: [a, b], attributes: [NamedAttribute("axis", .int(1))]))
        return (Feature(name: a, channels: half), Feature(name: b, channels: half))
    }

    /// ShuffleNet's `channel_shuffle(x, 2)`: view (N, 2, C/2, H·W), swap the first two channel
    /// axes, and view back to x's own shape.
    func channelShuffle(_ x: Feature, _ module: String) -> Feature {
        let grouped = node("Reshape", module, [x.name, constant([0, 2, Int64(x.channels / 2), -1], module)])
        let swapped = node("Transpose", module, [grouped], [NamedAttribute("perm", .ints([0, 2, 1, 3]))])
        let y = node("Reshape", module, [swapped, node("Shape", module, [x.name])])
        return Feature(name: y, channels: x.channels)
    }

    /// `x[:, :channels]`.
    func firstChannels(_ x: Feature, _ channels: Int, _ module: String) -> Feature {
        let y = node("Slice", module, [x.name, constant([0], module), constant([Int64(channels)], module), constant([1], module)])
        return Feature(name: y, channels: channels)
    }
}
