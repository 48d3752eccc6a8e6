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

func fmt(_ x: Double) -> String { String((x * 10).rounded() / 10) }

func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float.random(in: -1...1) } }

let arguments = CommandLine.arguments.dropFirst()
let isas: [KernelISA] = arguments.contains("--portable") ? [.portable, .avx2] : [.avx2]
let threadCounts = [1, 2]
let pools = Dictionary(uniqueKeysWithValues: threadCounts.map { ($0, ThreadPool(threadCount: $0)) })

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
