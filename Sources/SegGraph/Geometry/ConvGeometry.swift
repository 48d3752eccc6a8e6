/// How a window op pads when `pads` is not given explicitly (ONNX `auto_pad`).
package enum AutoPad: String, Sendable, Equatable, CaseIterable {
    case notSet = "NOTSET"
    case sameUpper = "SAME_UPPER"
    case sameLower = "SAME_LOWER"
    case valid = "VALID"

    package var isSame: Bool { self == .sameUpper || self == .sameLower }
}

/// The window attributes of Conv, ConvInteger, QLinearConv, FusedConv and the pools, decoded
/// and range-checked once, and the per-axis geometry they give. The reference interpreter and
/// the runtime's kernel choice both read them here, so an auto_pad rule has one definition.
///
/// It lives in SegGraph because it is a function of a node's attributes and a few integers
/// and nothing else: every layer that sees nodes (the interpreter, the rewrites, the runtime,
/// plugins) can use it without linking the interpreter.
package struct ConvGeometry: Sendable, Equatable {
    package var kernelShape: [Int]?
    package var strides: [Int]?
    package var dilations: [Int]?
    package var pads: [Int]?
    package var autoPad: AutoPad
    package var ceilMode: Bool
    /// How errors name the node.
    package var node: String

    /// Attribute names this geometry reads (ceil_mode only matters for pools).
    package static let attributeNames: Set<String> = ["auto_pad", "kernel_shape", "strides", "dilations", "pads"]
    /// Largest value a window attribute may hold; keeps index arithmetic far from overflow.
    package static let limit = 1 << 24

    package init(_ node: Node) throws(ConvGeometryError) {
        let reader = AttributeReader(node: node)
        self.node = reader.label
        kernelShape = try reader.ints("kernel_shape", minimum: 1)
        strides = try reader.ints("strides", minimum: 1)
        dilations = try reader.ints("dilations", minimum: 1)
        pads = try reader.ints("pads", minimum: 0)
        let mode = try reader.string("auto_pad") ?? AutoPad.notSet.rawValue
        guard let autoPad = AutoPad(rawValue: mode) else {
            throw reader.error("auto_pad", "'\(mode)' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID")
        }
        self.autoPad = autoPad
        ceilMode = try reader.int("ceil_mode") ?? 0 != 0
        if let pads, pads.count % 2 != 0 { throw reader.error("pads", "expected an even count, got \(pads.count)") }
    }

    package func error(_ subject: ConvGeometryError.Subject, _ reason: String) -> ConvGeometryError {
        ConvGeometryError(node: node, subject, reason)
    }

    /// Per-axis strides, dilations and pads ([begin..., end...]) for `rank` spatial axes, with
    /// the ONNX defaults, checking the counts.
    package func values(rank: Int) throws(ConvGeometryError) -> (strides: [Int], dilations: [Int], pads: [Int]) {
        func list(_ v: [Int]?, _ name: String, _ count: Int, _ fallback: Int) throws(ConvGeometryError) -> [Int] {
            guard let v else { return [Int](repeating: fallback, count: count) }
            guard v.count == count else { throw error(.attribute(name), "expected \(count) values for \(rank) spatial axes, got \(v.count)") }
            return v
        }
        return (try list(strides, "strides", rank, 1), try list(dilations, "dilations", rank, 1), try list(pads, "pads", 2 * rank, 0))
    }

    /// The kernel shape: the attribute when present (checked against `fromWeights`), else the
    /// weights' spatial dims.
    package func kernel(rank: Int, fromWeights: [Int]?) throws(ConvGeometryError) -> [Int] {
        if let k = kernelShape {
            guard k.count == rank else { throw error(.attribute("kernel_shape"), "expected \(rank) values, got \(k.count)") }
            if let w = fromWeights, w != k { throw error(.attribute("kernel_shape"), "\(k) disagrees with the weights' \(w)") }
            return k
        }
        guard let w = fromWeights else { throw error(.attribute("kernel_shape"), "required attribute is missing") }
        for v in w where v < 1 || v > Self.limit { throw error(.input(1), "kernel dim \(v) is out of range") }
        return w
    }

    /// Geometry of spatial axis `i` of a forward window op (Conv, pools), following ORT:
    /// SAME_* pads so that output = ceil(input / stride), the odd pad going to the end
    /// (UPPER) or the beginning (LOWER); ceil_mode never starts a window in the end padding.
    /// ORT's pools size the SAME padding with the undilated kernel (`dilatedSamePad` false),
    /// its Conv with the dilated one.
    package func forwardAxis(_ i: Int, input: Int, kernel: Int, rank: Int, dilatedSamePad: Bool = true) throws(ConvGeometryError) -> SpatialAxis {
        let v = try values(rank: rank)
        var axis = SpatialAxis(input: input, output: 0, kernel: kernel, stride: v.strides[i], dilation: v.dilations[i],
                               padBegin: v.pads[i], padEnd: v.pads[rank + i])
        switch autoPad {
        case .valid:
            axis.padBegin = 0
            axis.padEnd = 0
        case .sameUpper, .sameLower:
            let target = WindowMath.ceilDiv(input, axis.stride)
            let needed = max(0, (target - 1) * axis.stride + (dilatedSamePad ? axis.span : kernel) - input)
            axis.padBegin = autoPad == .sameUpper ? needed / 2 : needed - needed / 2
            axis.padEnd = needed - axis.padBegin
        case .notSet:
            break
        }
        let room = input + axis.padBegin + axis.padEnd - axis.span
        guard room >= 0 else {
            throw error(.input(0), "spatial dim \(input) (padded \(input + axis.padBegin + axis.padEnd)) is smaller than the window \(axis.span)")
        }
        axis.output = (ceilMode ? WindowMath.ceilDiv(room, axis.stride) : room / axis.stride) + 1
        if ceilMode && (axis.output - 1) * axis.stride >= input + axis.padBegin { axis.output -= 1 }
        return axis
    }

    /// All spatial axes of a forward window op.
    package func forwardAxes(input: [Int], kernel: [Int], dilatedSamePad: Bool = true) throws(ConvGeometryError) -> [SpatialAxis] {
        var axes: [SpatialAxis] = []
        for i in input.indices {
            axes.append(try forwardAxis(i, input: input[i], kernel: kernel[i], rank: input.count, dilatedSamePad: dilatedSamePad))
        }
        return axes
    }
}
