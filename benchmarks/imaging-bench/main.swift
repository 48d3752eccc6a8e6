// segslim-imaging-bench: times SegImaging's JPEG and PNG (label) decoders in a
// release build, for benchmarks/imaging_speed.py.
//
// Server mode (default): reads lines "jpeg|png|label <reps> <path>" on stdin,
// decodes the file's bytes (read once, outside the timing) `reps` times and
// answers "<median ns> <checksum>" per line (checksum: see `checksum`). The Python driver interleaves these
// requests with Pillow's decodes of the same bytes, so both see the same load.
//
// Loop mode (for profilers): segslim-imaging-bench --loop jpeg|png|label N file...
import Foundation
import SegImaging

func decode(_ kind: Substring, _ bytes: [UInt8]) throws -> Image {
    switch kind {
    case "jpeg": return try JPEG.decode(bytes)
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
