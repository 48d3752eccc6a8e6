import SegGraph
import SegTensor

/// One spatial axis of a sliding-window op (Conv, ConvTranspose, pooling).
///
/// Output position `o` reads input positions `o * stride - padBegin + t * dilation` for taps
/// `t` in `0..<kernel`; positions outside `0..<input` are padding.
struct SpatialAxis: Equatable {
    var input: Int
    var output: Int
    var kernel: Int
    var stride: Int
    var dilation: Int
    var padBegin: Int
    var padEnd: Int

    static let unit = SpatialAxis(input: 1, output: 1, kernel: 1, stride: 1, dilation: 1, padBegin: 0, padEnd: 0)

    /// Extent of one dilated window.
    var span: Int { (kernel - 1) * dilation + 1 }

    /// The outputs whose tap `t` lands inside the input, so kernels can loop without a
    /// bounds test per element.
    func validOutputs(tap t: Int) -> Range<Int> {
        let offset = t * dilation - padBegin
        let lo = max(0, NN.ceilDiv(-offset, stride))
        let hi = min(output, NN.floorDiv(input - 1 - offset, stride) + 1)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// Pads the axis list to exactly three (depth, height, width) with unit axes in front, so
    /// 1-D, 2-D and 3-D ops share one loop nest.
    static func canonical3(_ axes: [SpatialAxis]) throws -> [SpatialAxis] {
        guard axes.count <= 3 else { throw OpError.unsupported("\(axes.count) spatial dimensions (at most 3)") }
        return [SpatialAxis](repeating: .unit, count: 3 - axes.count) + axes
    }
}

/// The window attributes shared by Conv, ConvTranspose, ConvInteger, QLinearConv and the pools,
/// read and range-checked once.
struct WindowAttributes {
    var kernelShape: [Int]?
    var strides: [Int]?
    var dilations: [Int]?
    var pads: [Int]?
    var autoPad: String
    var ceilMode: Bool

    static let names: Set<String> = ["auto_pad", "kernel_shape", "strides", "dilations", "pads"]
    static let autoPadValues: Set<String> = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]

    init(_ ctx: NodeContext) throws {
        kernelShape = try NN.intList(ctx, "kernel_shape", minimum: 1)
        strides = try NN.intList(ctx, "strides", minimum: 1)
        dilations = try NN.intList(ctx, "dilations", minimum: 1)
        pads = try NN.intList(ctx, "pads", minimum: 0)
        autoPad = try ctx.string("auto_pad", default: "NOTSET")
        guard Self.autoPadValues.contains(autoPad) else {
            throw OpError.attribute("auto_pad", "'\(autoPad)' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID")
        }
        ceilMode = try ctx.int("ceil_mode", default: 0) != 0
        if let pads, pads.count % 2 != 0 { throw OpError.attribute("pads", "expected an even count, got \(pads.count)") }
    }

    /// Per-axis attribute values for `rank` spatial axes, checking the counts.
    func values(rank: Int) throws -> (strides: [Int], dilations: [Int], pads: [Int]) {
        func list(_ v: [Int]?, _ name: String, _ count: Int, _ fallback: Int) throws -> [Int] {
            guard let v else { return [Int](repeating: fallback, count: count) }
            guard v.count == count else { throw OpError.attribute(name, "expected \(count) values for \(rank) spatial axes, got \(v.count)") }
            return v
        }
        return (try list(strides, "strides", rank, 1), try list(dilations, "dilations", rank, 1), try list(pads, "pads", 2 * rank, 0))
    }

    /// The kernel shape: the attribute when present (checked against `fromWeights`), else the
    /// weights' spatial dims.
    func kernel(rank: Int, fromWeights: [Int]?) throws -> [Int] {
        if let k = kernelShape {
            guard k.count == rank else { throw OpError.attribute("kernel_shape", "expected \(rank) values, got \(k.count)") }
            if let w = fromWeights, w != k { throw OpError.attribute("kernel_shape", "\(k) disagrees with the weights' \(w)") }
            return k
        }
        guard let w = fromWeights else { throw OpError.attribute("kernel_shape", "required attribute is missing") }
        for v in w where v < 1 || v > NN.limit { throw OpError.input(1, "kernel dim \(v) is out of range") }
        return w
    }

    /// Geometry of spatial axis `i` of a forward window op (Conv, pools), following ORT:
    /// SAME_* pads so that output = ceil(input / stride), the odd pad going to the end
    /// (UPPER) or the beginning (LOWER); ceil_mode never starts a window in the end padding.
    /// ORT's pools size the SAME padding with the undilated kernel (`dilatedSamePad` false),
    /// its Conv with the dilated one.
    func forwardAxis(_ i: Int, input: Int, kernel: Int, rank: Int, dilatedSamePad: Bool = true) throws -> SpatialAxis {
        let v = try values(rank: rank)
        var axis = SpatialAxis(input: input, output: 0, kernel: kernel, stride: v.strides[i], dilation: v.dilations[i],
                               padBegin: v.pads[i], padEnd: v.pads[rank + i])
        switch autoPad {
        case "VALID":
            axis.padBegin = 0
            axis.padEnd = 0
        case "SAME_UPPER", "SAME_LOWER":
            let target = NN.ceilDiv(input, axis.stride)
            let needed = max(0, (target - 1) * axis.stride + (dilatedSamePad ? axis.span : kernel) - input)
            axis.padBegin = autoPad == "SAME_UPPER" ? needed / 2 : needed - needed / 2
            axis.padEnd = needed - axis.padBegin
        default:
            break
        }
        let room = input + axis.padBegin + axis.padEnd - axis.span
        guard room >= 0 else {
            throw OpError.input(0, "spatial dim \(input) (padded \(input + axis.padBegin + axis.padEnd)) is smaller than the window \(axis.span)")
        }
        axis.output = (ceilMode ? NN.ceilDiv(room, axis.stride) : room / axis.stride) + 1
        if ceilMode && (axis.output - 1) * axis.stride >= input + axis.padBegin { axis.output -= 1 }
        return axis
    }

    /// All spatial axes of a forward window op.
    func forwardAxes(input: [Int], kernel: [Int], dilatedSamePad: Bool = true) throws -> [SpatialAxis] {
        try input.indices.map { try forwardAxis($0, input: input[$0], kernel: kernel[$0], rank: input.count, dilatedSamePad: dilatedSamePad) }
    }
}
