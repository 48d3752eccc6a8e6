// Release-mode GFLOP/s driver for SegKernels: `swift run -c release segslim-kernel-bench`.
// Shapes come from MobileNetV3-Large LRASPP at 720×960 input; see README.md.
import SegKernels
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Median seconds per call over `repeats` timed batches, each long enough to be measured.
func time(_ body: () throws -> Void) rethrows -> Double {
    try body()
    var iterations = 1
    while true {
        let t0 = now()
        for _ in 0..<iterations { try body() }
        if now() - t0 > 0.05 { break }
        iterations *= 2
    }
    var samples: [Double] = []
    for _ in 0..<5 {
        let t0 = now()
        for _ in 0..<iterations { try body() }
        samples.append((now() - t0) / Double(iterations))
    }
    return samples.sorted()[2]
}

func format2(_ x: Double) -> String { String((x * 100).rounded() / 100) }

func fmt(_ x: Double) -> String { String((x * 10).rounded() / 10) }

func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float.random(in: -1...1) } }

let arguments = CommandLine.arguments.dropFirst()
let isas: [KernelISA] = arguments.contains("--portable") ? [.portable, .avx2] : [.avx2]
let threadCounts = [1, 2]
let pools = Dictionary(uniqueKeysWithValues: threadCounts.map { ($0, ThreadPool(threadCount: $0)) })

/// `--model`: every spatial Conv of LR-ASPP MobileNetV3 on CamVid 360×480 (the model
/// benchmarked end to end), with the ms of each and the totals per kind.
/// (Cin, H, W, Cout, k, stride, pad, dilation, groups)
let modelConvs: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
    (3, 360, 480, 16, 3, 2, 1, 1, 1, 0),
    (16, 180, 240, 16, 3, 1, 1, 1, 16, 0),
    (16, 180, 240, 16, 1, 1, 0, 1, 1, 0),
    (16, 180, 240, 64, 1, 1, 0, 1, 1, 0),
    (64, 180, 240, 64, 3, 2, 1, 1, 64, 0),
    (64, 90, 120, 24, 1, 1, 0, 1, 1, 0),
    (24, 90, 120, 72, 1, 1, 0, 1, 1, 0),
    (72, 90, 120, 72, 3, 1, 1, 1, 72, 0),
    (72, 90, 120, 24, 1, 1, 0, 1, 1, 0),
    (24, 90, 120, 72, 1, 1, 0, 1, 1, 0),
    (72, 90, 120, 72, 5, 2, 2, 1, 72, 0),
    (72, 45, 60, 40, 1, 1, 0, 1, 1, 0),
    (40, 45, 60, 120, 1, 1, 0, 1, 1, 0),
    (120, 45, 60, 120, 5, 1, 2, 1, 120, 0),
    (120, 45, 60, 40, 1, 1, 0, 1, 1, 0),
    (40, 45, 60, 120, 1, 1, 0, 1, 1, 0),
    (120, 45, 60, 120, 5, 1, 2, 1, 120, 0),
    (120, 45, 60, 40, 1, 1, 0, 1, 1, 0),
    (40, 45, 60, 240, 1, 1, 0, 1, 1, 0),
    (240, 45, 60, 240, 3, 2, 1, 1, 240, 0),
    (240, 23, 30, 80, 1, 1, 0, 1, 1, 0),
    (80, 23, 30, 200, 1, 1, 0, 1, 1, 0),
    (200, 23, 30, 200, 3, 1, 1, 1, 200, 0),
    (200, 23, 30, 80, 1, 1, 0, 1, 1, 0),
    (80, 23, 30, 184, 1, 1, 0, 1, 1, 0),
    (184, 23, 30, 184, 3, 1, 1, 1, 184, 0),
    (184, 23, 30, 80, 1, 1, 0, 1, 1, 0),
    (80, 23, 30, 184, 1, 1, 0, 1, 1, 0),
    (184, 23, 30, 184, 3, 1, 1, 1, 184, 0),
    (184, 23, 30, 80, 1, 1, 0, 1, 1, 0),
    (80, 23, 30, 480, 1, 1, 0, 1, 1, 0),
    (480, 23, 30, 480, 3, 1, 1, 1, 480, 0),
    (480, 23, 30, 112, 1, 1, 0, 1, 1, 0),
    (112, 23, 30, 672, 1, 1, 0, 1, 1, 0),
    (672, 23, 30, 672, 3, 1, 1, 1, 672, 0),
    (672, 23, 30, 112, 1, 1, 0, 1, 1, 0),
    (112, 23, 30, 672, 1, 1, 0, 1, 1, 0),
    (672, 23, 30, 672, 5, 1, 4, 2, 672, 0),
    (672, 23, 30, 160, 1, 1, 0, 1, 1, 0),
    (160, 23, 30, 960, 1, 1, 0, 1, 1, 0),
    (960, 23, 30, 960, 5, 1, 4, 2, 960, 0),
    (960, 23, 30, 160, 1, 1, 0, 1, 1, 0),
    (160, 23, 30, 960, 1, 1, 0, 1, 1, 0),
    (960, 23, 30, 960, 5, 1, 4, 2, 960, 0),
    (960, 23, 30, 160, 1, 1, 0, 1, 1, 0),
    (160, 23, 30, 960, 1, 1, 0, 1, 1, 0),
    (960, 23, 30, 128, 1, 1, 0, 1, 1, 0),
    (40, 45, 60, 11, 1, 1, 0, 1, 1, 0),
    // Squeeze-excite FCs and the head's pooled branch: 1×1 convs on a 1×1 map (N = 1).
    (72, 1, 1, 24, 1, 1, 0, 1, 1, 0), (24, 1, 1, 72, 1, 1, 0, 1, 1, 0),
    (120, 1, 1, 32, 1, 1, 0, 1, 1, 0), (32, 1, 1, 120, 1, 1, 0, 1, 1, 0),
    (120, 1, 1, 32, 1, 1, 0, 1, 1, 0), (32, 1, 1, 120, 1, 1, 0, 1, 1, 0),
    (480, 1, 1, 120, 1, 1, 0, 1, 1, 0), (120, 1, 1, 480, 1, 1, 0, 1, 1, 0),
    (672, 1, 1, 168, 1, 1, 0, 1, 1, 0), (168, 1, 1, 672, 1, 1, 0, 1, 1, 0),
    (672, 1, 1, 168, 1, 1, 0, 1, 1, 0), (168, 1, 1, 672, 1, 1, 0, 1, 1, 0),
    (960, 1, 1, 240, 1, 1, 0, 1, 1, 0), (240, 1, 1, 960, 1, 1, 0, 1, 1, 0),
    (960, 1, 1, 240, 1, 1, 0, 1, 1, 0), (240, 1, 1, 960, 1, 1, 0, 1, 1, 0),
    (960, 1, 1, 128, 1, 1, 0, 1, 1, 0),
]
if arguments.contains("--argmax") {
    // The class mask of the demo model's output (11 classes at 360×480): what model/segment
    // spends after inference, at the output's size and from 1/8 of it.
    let classes = 11, h = 360, w = 480
    var mask = [UInt8](repeating: 0, count: h * w)
    for (ih, iw) in [(h, w), (h / 8, w / 8)] {
        let scores = random(classes * ih * iw)
        for threads in threadCounts {
            let context = KernelContext(pool: pools[threads]!, isa: .avx2)
            let seconds = try time {
                try scores.withUnsafeBufferPointer { s in
                    try mask.withUnsafeMutableBufferPointer { m in
                        try classArgmax(scores: s.baseAddress!, classes: classes, inHeight: ih, inWidth: iw,
                                        into: m.baseAddress!, outHeight: h, outWidth: w, context: context)
                    }
                }
            }
            print("argmax \(classes)×\(ih)×\(iw) → \(h)×\(w)\t\(threads) thread(s)\t\(format2(seconds * 1e3)) ms")
        }
    }
    exit(0)
}

if arguments.contains("--model") {
    let threadList = arguments.contains("--threads2") ? [2] : arguments.contains("--both") ? [1, 2] : [1]
    let filter = arguments.first(where: { $0.hasPrefix("--only=") }).map { String($0.dropFirst(7)) }
    for threads in threadList {
        print("# LR-ASPP convs, \(threads) thread(s)")
        print("#\tCin\tH×W\tCout\tk\ts\tg\tkind\tGFLOP/s\tms")
        var totals: [String: Double] = [:]
        // `--conv=Cin,H,W,Cout,k,stride,pad,dilation,groups`: that one conv instead of the model's.
        var convs = modelConvs
        if let spec = arguments.first(where: { $0.hasPrefix("--conv=") }) {
            let v = spec.dropFirst(7).split(separator: ",").compactMap { Int($0) }
            guard v.count == 9 else { print("--conv needs 9 integers: Cin,H,W,Cout,k,stride,pad,dilation,groups"); exit(2) }
            convs = [(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], 0)]
        }
        for (index, c) in convs.enumerated() {
            let shape = Conv2DShape(inputChannels: c.0, height: c.1, width: c.2, outputChannels: c.3, kernelH: c.4, kernelW: c.4,
                                    strides: (c.5, c.5), pads: (c.6, c.6, c.6, c.6), dilations: (c.7, c.7), groups: c.8)
            let kind = c.8 > 1 ? (c.5 > 1 ? "dw-s2" : "dw") : c.1 * c.2 == 1 ? "se" : c.4 == 1 ? "pw" : "stem"
            if let filter, filter != kind, filter != String(index) { continue }
            let taps = c.4 * c.4
            let x = random(c.0 * c.1 * c.2), w = random(c.3 * c.0 / c.8 * taps), bias = random(c.3)
            var y = [Float](repeating: 0, count: c.3 * shape.outputHeight * shape.outputWidth)
            let plain = arguments.contains("--plain")  // no bias, no activation: the epilogue's cost
            let act: Activation = arguments.contains("--relu") ? .relu : arguments.contains("--noact") ? .none : .hardSwish
            var options = KernelOptions.standard
            if arguments.contains("--no-avx512-pw") { options.smallDepthPointwiseMaxDepth = 0 }
            if arguments.contains("--no-avx512-im2col") { options.im2colAVX512 = false }
            if arguments.contains("--no-winograd") { options.winograd = false }
            if arguments.contains("--no-lane-sweep") { options.laneSweep = false }
            let context = KernelContext(pool: pools[threads]!, isa: .avx2, options: options)
            let seconds: Double
            if arguments.contains("--int8") {
                // The INT8 path on u8 NHWC codes: s8 weights, per-channel scales, u8 output
                // (HardSwish in the epilogue unless --plain/--noact/--relu).
                let codes = (0..<x.count).map { _ in UInt8.random(in: 0...255) }
                let qw = (0..<w.count).map { _ in Int8.random(in: -127...127) }
                let out: QConvOutput = plain || act == .none ? .u8(scale: 0.05, zeroPoint: 128, low: 0, high: 255)
                    : act == .relu ? .u8(scale: 0.05, zeroPoint: 0, low: 0, high: 255)
                    : .u8Activated(scale: 0.05, zeroPoint: 10, activation: act)
                let qconv = try QConv2D(shape: shape, weights: qw, weightScales: (0..<c.3).map { _ in Float.random(in: 0.001...0.01) },
                                        bias: (0..<c.3).map { _ in Int32.random(in: -1000...1000) }, inputScale: 0.02,
                                        inputZeroPoint: 120, output: out)
                var q = [UInt8](repeating: 0, count: c.3 * shape.outputHeight * shape.outputWidth + 64)
                seconds = try codes.withUnsafeBufferPointer { xb in
                    try q.withUnsafeMutableBytes { qb in
                        try time { try qconv.run(input: xb.baseAddress!, batch: 1, output: qb.baseAddress!, context: context) }
                    }
                }
            } else {
                let conv = try Conv2D(shape: shape, weights: w, bias: plain ? nil : bias, activation: plain ? .none : act, options: options)
                seconds = try time { try conv.run(input: x, batch: 1, output: &y, context: context) }
            }
            let flops = 2.0 * Double(c.3 * c.0 / c.8 * taps * shape.outputHeight * shape.outputWidth)
            totals[kind, default: 0] += seconds * 1e3
            print("\(index)\t\(c.0)\t\(c.1)×\(c.2)\t\(c.3)\t\(c.4)\t\(c.5)\t\(c.8)\t\(kind)\t\(fmt(flops / seconds / 1e9))\t\(String(format2(seconds * 1e3)))")
        }
        for (kind, ms) in totals.sorted(by: { $0.key < $1.key }) { print("total \(kind)\t\(format2(ms)) ms") }
        print("total\t\(format2(totals.values.reduce(0, +))) ms")
    }
    exit(0)
}

print("# SGEMM C[M×N] = W[M×K]·X[K×N], W pre-packed (pointwise conv)")
print("M\tK\tN\tisa\tthreads\tGFLOP/s")
let gemmShapes: [(Int, Int, Int)] = [
    (16, 16, 360 * 480), (64, 16, 180 * 240), (24, 72, 180 * 240), (72, 24, 180 * 240),
    (40, 120, 90 * 120), (120, 40, 90 * 120), (240, 80, 45 * 60), (80, 240, 45 * 60),
    (480, 112, 45 * 60), (160, 672, 23 * 30), (960, 160, 23 * 30), (160, 960, 23 * 30),
    (960, 160, 12 * 15), (128, 960, 23 * 30), (256, 256, 4096), (512, 512, 2048),
]
for (m, k, n) in gemmShapes {
    let w = random(m * k), x = random(k * n)
    var c = [Float](repeating: 0, count: m * n)
    let packed = try PackedMatrix(a: w, rows: m, columns: k, leadingDimension: k)
    for isa in isas {
        for threads in threadCounts {
            let context = KernelContext(pool: pools[threads]!, isa: isa)
            let seconds = try time {
                try sgemm(packedA: packed, n: n, b: x, ldb: n, c: &c, ldc: n, context: context)
            }
            print("\(m)\t\(k)\t\(n)\t\(isa)\t\(threads)\t\(fmt(2.0 * Double(m * n * k) / seconds / 1e9))")
        }
    }
}

print("# Conv2D NCHW batch 1 (useful FLOPs = 2·Cout·(Cin/g)·kH·kW·outH·outW)")
print("C\tH×W\tk\tstride\tgroups\tisa\tthreads\tGFLOP/s\tms")
let convShapes: [Conv2DShape] = [
    Conv2DShape(inputChannels: 16, height: 360, width: 480, outputChannels: 16, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1), groups: 16),
    Conv2DShape(inputChannels: 64, height: 360, width: 480, outputChannels: 64, kernelH: 3, kernelW: 3, strides: (2, 2), pads: (1, 1, 1, 1), groups: 64),
    Conv2DShape(inputChannels: 72, height: 180, width: 240, outputChannels: 72, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1), groups: 72),
    Conv2DShape(inputChannels: 72, height: 180, width: 240, outputChannels: 72, kernelH: 5, kernelW: 5, strides: (2, 2), pads: (2, 2, 2, 2), groups: 72),
    Conv2DShape(inputChannels: 120, height: 90, width: 120, outputChannels: 120, kernelH: 5, kernelW: 5, pads: (2, 2, 2, 2), groups: 120),
    Conv2DShape(inputChannels: 240, height: 90, width: 120, outputChannels: 240, kernelH: 3, kernelW: 3, strides: (2, 2), pads: (1, 1, 1, 1), groups: 240),
    Conv2DShape(inputChannels: 480, height: 45, width: 60, outputChannels: 480, kernelH: 3, kernelW: 3, pads: (1, 1, 1, 1), groups: 480),
    Conv2DShape(inputChannels: 960, height: 23, width: 30, outputChannels: 960, kernelH: 5, kernelW: 5, pads: (4, 4, 4, 4), dilations: (2, 2), groups: 960),
    Conv2DShape(inputChannels: 960, height: 12, width: 15, outputChannels: 960, kernelH: 5, kernelW: 5, pads: (2, 2, 2, 2), groups: 960),
    Conv2DShape(inputChannels: 3, height: 720, width: 960, outputChannels: 16, kernelH: 3, kernelW: 3, strides: (2, 2), pads: (1, 1, 1, 1)),
    Conv2DShape(inputChannels: 40, height: 90, width: 120, outputChannels: 120, kernelH: 1, kernelW: 1),
]
for shape in convShapes {
    let taps = shape.kernelH * shape.kernelW
    let x = random(shape.inputChannels * shape.height * shape.width)
    let w = random(shape.outputChannels * shape.inputChannels / shape.groups * taps)
    let bias = random(shape.outputChannels)
    var y = [Float](repeating: 0, count: shape.outputChannels * shape.outputHeight * shape.outputWidth)
    let conv = try Conv2D(shape: shape, weights: w, bias: bias, activation: .hardSwish)
    let flops = 2.0 * Double(shape.outputChannels * shape.inputChannels / shape.groups * taps * shape.outputHeight * shape.outputWidth)
    for isa in isas {
        for threads in threadCounts {
            let context = KernelContext(pool: pools[threads]!, isa: isa)
            let seconds = try time { try conv.run(input: x, batch: 1, output: &y, context: context) }
            print("\(shape.inputChannels)\t\(shape.height)×\(shape.width)\t\(shape.kernelH)\t\(shape.strideH)\t\(shape.groups)\t\(isa)\t\(threads)\t\(fmt(flops / seconds / 1e9))\t\(fmt(seconds * 1e3))")
        }
    }
}
