// segslim-imaging-bench: times SegImaging's JPEG and PNG (label) decoders in a
// release build, for benchmarks/imaging_speed.py.
//
// Server mode (default): reads lines "jpeg|png|label <reps> <path>" on stdin,
// decodes the file's bytes (read once, outside the timing) `reps` times and
// answers "<median ns> <checksum>" per line (checksum: see `checksum`). The Python driver interleaves these
// requests with Pillow's decodes of the same bytes, so both see the same load.
//
// Loop mode (for profilers): segslim-imaging-bench --loop jpeg|png|label N file...
// SEGIMAGING_THREADS=1 decodes JPEGs on one thread (default 2, as the library does).
import Foundation
import SegImaging

/// JPEG decode threads (`SEGIMAGING_THREADS`, default 2: the decoder's default).
let jpegThreads = Int(ProcessInfo.processInfo.environment["SEGIMAGING_THREADS"] ?? "") ?? 2

func decode(_ kind: Substring, _ bytes: [UInt8]) throws -> Image {
    switch kind {
    case "jpeg": return try JPEG.decode(bytes, options: .init(threads: jpegThreads))
    case "png": return try PNG.decode(bytes)
    case "label": return try ImageIO.decodeLabel(bytes)
    default: throw ImagingError(.invalidArgument, format: "bench", "unknown kind \(kind)")
    }
}

/// Position-weighted sums (mod 2^64) that numpy computes in one line, so the Python side
/// can check every decoded sample against Pillow's cheaply: any single changed sample changes both.
func checksum(_ image: Image) -> String {
    var h1: UInt64 = 0, h2: UInt64 = 0
    for (i, b) in image.pixels.enumerated() {
        h1 &+= UInt64(i + 1) &* UInt64(b)
        h2 &+= (UInt64(i) &* 2654435761 & 0xFFFF_FFFF) &* UInt64(b)
    }
    return "\(h1):\(h2)"
}

func nanoseconds(_ d: Duration) -> Int64 {
    d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
}

func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

let args = CommandLine.arguments
if args.count >= 4 && args[1] == "--loop" {
    let kind = Substring(args[2]), n = Int(args[3]) ?? 1
    let files = try args[4...].map(read)
    var sink: UInt64 = 0
    let start = ContinuousClock.now
    for _ in 0..<n { for f in files { sink &+= UInt64(try decode(kind, f).pixels.count) } }
    let ns = nanoseconds(ContinuousClock.now - start)
    print("\(kind): \(Double(ns) / 1e6 / Double(max(n * files.count, 1))) ms per decode (\(sink))")
    exit(0)
}

// Encode mode: segslim-imaging-bench --encode N image.jpg label.png
// Times the segment request's writes (overlay and mask PNGs) with each encoder, median of N.
if args.count >= 5 && args[1] == "--encode" {
    let n = max(Int(args[2]) ?? 1, 1)
    let image = try JPEG.decode(try read(args[3]))
    var mask = try ImageIO.decodeLabel(try read(args[4]))
    mask = try Image(width: mask.width, height: mask.height, channels: 1, pixels: mask.pixels.map { $0 == 255 ? 0 : $0 })
    let palette = Palette.voc()
    func median(_ body: () throws -> [UInt8]) throws -> (Double, Int) {
        var times: [Double] = [], size = 0
        for _ in 0..<n {
            let start = ContinuousClock.now
            size = try body().count
            times.append(Double(nanoseconds(ContinuousClock.now - start)) / 1e6)
        }
        return (times.sorted()[n / 2], size)
    }
    let overlay = try image.overlaying(mask: mask, palette: palette, alpha: 0.5)
    let rows: [(String, () throws -> [UInt8])] = [
        ("overlay lz77 fast", { try PNG.encode(overlay, options: .init(deflate: .fast)) }),
        ("overlay rle up 1 thread", { try PNG.encodeFast(overlay, options: .init(filter: 2, threads: 1)) }),
        ("overlay rle up 2 threads", { try PNG.encodeFast(overlay, options: .init(filter: 2, threads: 2)) }),
        ("overlay rle sub 2 threads", { try PNG.encodeFast(overlay, options: .init(filter: 1, threads: 2)) }),
        ("overlay rle none 2 threads", { try PNG.encodeFast(overlay, options: .init(filter: 0, threads: 2)) }),
        ("mask lz77 default", { try PNG.encodeIndexed(mask, palette: palette) }),
        ("mask rle none 2 threads", { try PNG.encodeIndexedFast(mask, palette: palette) }),
        ("mask rle up 2 threads", { try PNG.encodeIndexedFast(mask, palette: palette, options: .init(filter: 2)) }),
        ("overlay blend", { try image.overlaying(mask: mask, palette: palette, alpha: 0.5).pixels }),
    ]
    for (name, body) in rows {
        let (ms, size) = try median(body)
        print(String(format: "%-28@ %8.3f ms %9d bytes", name as NSString, ms, size))
    }
    exit(0)
}

/// Unbuffered answers: the Python side waits for each line.
func answer(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }

while let line = readLine() {
    let parts = line.split(separator: " ", maxSplits: 2)
    guard parts.count == 3, let reps = Int(parts[1]), reps > 0 else {
        answer("error bad request")
        continue
    }
    do {
        let bytes = try read(String(parts[2]))
        var times: [Int64] = []
        var sum = ""
        for _ in 0..<reps {
            let start = ContinuousClock.now
            let image = try decode(parts[0], bytes)
            times.append(nanoseconds(ContinuousClock.now - start))
            sum = checksum(image)
        }
        times.sort()
        answer("\(times[times.count / 2]) \(sum)")
    } catch {
        answer("error \(error)")
    }
}
