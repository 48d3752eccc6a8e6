import Foundation
import SegImaging
import SegProtocol
import SegReference
@testable import SegServer
import Synchronization
import Testing

/// Every long method, cancelled while it works, answers RequestCancelled (-32800) and writes
/// nothing. The workload (a few large images) keeps each request busy inside the runtime long
/// after its progress `begin`, which is when the cancel is sent: a cancel that surfaces as the
/// runtime's own error (or a technique's) must still reach the client as -32800.
@Suite(.serialized) struct CancellationTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    /// Made once for every test that needs it: encoding it is itself heavy work, and the
    /// suites share two cores with everything else that runs in parallel.
    static let shared = Result { try largeDataset(count: 8) }

    /// A PaddleSeg-style dataset of `count` images of `side`×`side` in a new folder.
    static func largeDataset(count: Int = 6, side: Int = 640) throws -> URL {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("segslim-cancel-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("images"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("labels"), withIntermediateDirectories: true)
        var lines: [String] = []
        for i in 0..<count {
            var rgb = [UInt8](repeating: 0, count: side * side * 3)
            var label = [UInt8](repeating: 0, count: side * side)
            for p in 0..<(side * side) {
                let v = UInt8(truncatingIfNeeded: (p &* 2654435761 &+ i) >> 7)
                rgb[3 * p] = v
                rgb[3 * p + 1] = v &+ 85
                rgb[3 * p + 2] = v &+ 170
                label[p] = v % 3
            }
            try Data(PNG.encode(try Image(width: side, height: side, channels: 3, pixels: rgb)))
                .write(to: root.appendingPathComponent("images/i\(i).png"))
            try Data(PNG.encode(try Image(width: side, height: side, channels: 1, pixels: label)))
                .write(to: root.appendingPathComponent("labels/i\(i).png"))
            lines.append("images/i\(i).png labels/i\(i).png")
        }
        try (lines.joined(separator: "\n") + "\n").write(to: root.appendingPathComponent("val.txt"), atomically: true, encoding: .utf8)
        try (lines.joined(separator: "\n") + "\n").write(to: root.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
        try #"{"classes": ["bright", "dark", "middle"], "ignore_index": 255}"#.write(to: root.appendingPathComponent("dataset.json"), atomically: true, encoding: .utf8)
        return root
    }

    enum Long: String, CaseIterable, Sendable {
        case segment, evaluate, compress, pipeline, sensitivity, benchmark
    }

    /// The request, and the files it would write (none may exist after the cancel).
    static func request(_ kind: Long, dataset: URL, out: URL) -> (method: String, params: JSONValue, writes: [URL]) {
        let ds = JSONValue.string(dataset.path)
        let calibration: JSONValue = ["split": "train", "count": 8]
        let model = out.appendingPathComponent("m.onnx")
        switch kind {
        case .segment:
            let images = JSONValue.array((0..<6).map { .string(dataset.appendingPathComponent("images/i\($0).png").path) })
            // Images finished before the cancel keep their files; the last one is never reached.
            return ("model/segment", ["id": "m", "images": images, "outputDir": .string(out.path)],
                    [out.appendingPathComponent("i5.mask.png"), out.appendingPathComponent("i5.overlay.png")])
        case .evaluate:
            return ("model/evaluate", ["id": "m", "dataset": ds, "split": "val"], [])
        case .compress:
            return ("model/compress", ["id": "m", "technique": "quantize", "dataset": ds, "calibration": calibration,
                                       "outputPath": .string(model.path)],
                    [model, URL(fileURLWithPath: model.path + ".report.json")])
        case .pipeline:
            return ("model/pipeline", ["id": "m", "steps": [["technique": "fuse"], ["technique": "quantize"]], "dataset": ds,
                                       "calibration": calibration, "outputPath": .string(model.path)],
                    [model, URL(fileURLWithPath: model.path + ".report.json")])
        case .sensitivity:
            return ("model/sensitivity", ["id": "m", "technique": "quantize", "dataset": ds, "split": "val", "calibration": calibration], [])
        case .benchmark:
            return ("model/benchmark", ["id": "m", "runs": 10_000, "warmup": 0, "inputShape": [1, 3, 640, 640]], [])
        }
    }

    @Test(arguments: Long.allCases)
    func cancelledWhileWorkingAnswersRequestCancelledAndWritesNothing(_ kind: Long) async throws {
        let dataset = try Self.shared.get()
        let out = dataset.appendingPathComponent("out-\(kind)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let c = TestClient()
        try await c.initialize()
        let model = kind == .segment ? "tiny_seg.onnx" : "tiny_conv_seg.onnx"
        #expect(try await c.call(1, "model/load", ["path": .string(Self.fixture(model)), "id": "m"])["result"] != nil)

        let (method, params, writes) = Self.request(kind, dataset: dataset, out: out)
        guard case .object(var fields) = params else { return }
        fields["workDoneToken"] = "t"
        c.send(["jsonrpc": "2.0", "id": 2, "method": .string(method), "params": .object(fields)])
        // The first `report` means the work proper (the model runs, calibration) is under way.
        _ = try await c.waitFor("progress report of \(method)") { m in
            m.contains { $0["params"]?["token"] == "t" && $0["params"]?["value"]?["kind"] == "report" }
        }
        c.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":2}}"#)
        let r = try await c.response(2)
        #expect(r.errorCode == -32800, "\(method): \(r)")
        #expect(r.errorMessage == "request cancelled", "\(method): \(r)")
        for file in writes {
            #expect(!FileManager.default.fileExists(atPath: file.path), "\(method) wrote \(file.path) after a cancel")
        }
        // The connection serves on, and no compressed model stayed registered.
        let list = try await c.call(3, "model/list")
        #expect(list["result"]?["models"]?.arrayValue?.count == 1, "\(list)")
    }

    /// A client that closed only its sending side still gets its answers (LifecycleTests);
    /// when it then goes away altogether, what it left running is cancelled and the
    /// connection ends, instead of working on for nobody.
    @Test func halfClosedClientThatThenGoesAwayHasItsRequestCancelled() async throws {
        // The in-process server's answers to a gone client fail with EPIPE, as in segslimd
        // (which ignores SIGPIPE from the start), instead of killing the test process.
        signal(SIGPIPE, SIG_IGN)
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":1,"method":"debug/sleep","params":{"durationMs":600000,"workDoneToken":"s"}}"#)
        _ = try await c.waitFor("progress begin") { m in m.contains { $0["params"]?["value"]?["kind"] == "begin" } }
        c.closeInput()
        // Give the connection a moment to see the end of input and start waiting for the sleep.
        try await Task.sleep(nanoseconds: 200_000_000)
        shutdown(c.fd, Int32(SHUT_RDWR))
        let ended = Mutex(false)
        let ending = c.ending
        Task { _ = await ending.value; ended.withLock { $0 = true } }
        let deadline = Date().addingTimeInterval(60)
        while !ended.withLock({ $0 }) && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        #expect(ended.withLock { $0 }, "the connection kept running a request for a client that is gone")
    }

    /// The runtime's own `cancelled`, bare or wrapped by a technique's failure path, is a cancel.
    @Test func runtimeCancellationMapsToRequestCancelled() {
        #expect(ServerCore.responseError(for: ExecutionError.cancelled).code == .requestCancelled)
        #expect(ResponseError.technique(ExecutionError.cancelled, technique: "quantize").code == .requestCancelled)
        #expect(ResponseError.technique(ExecutionError.cancelled, technique: "quantize", field: "params.steps[1]") == .cancelled)
        // Other runtime errors keep their kinds.
        #expect(ResponseError.technique(ExecutionError.missingInput("x"), technique: "quantize").code == .techniqueFailed)
    }
}
