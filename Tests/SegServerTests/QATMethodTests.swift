import Foundation
import SegProtocol
import SegServer
import Testing

/// The `qat` technique end to end: `model/compress` on the tiny fixture runs the default
/// post-training quantization, trains the fake-quant model through the server's trainer and
/// answers with an INT8 QDQ model in the PTQ's layout.
@Suite struct QATMethodTests {
    @Test func qatTrainsThroughTheContextAndWritesQDQ() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(TrainMethodTests.fixture("tiny_conv_seg.onnx")), "id": "m"])
        let data = try TrainMethodTests.tinyDataset()
        let r = try await c.call(2, "model/compress", ["id": "m", "technique": "qat", "dataset": .string(data.path),
                                                      "params": ["steps": 2, "batchSize": 2, "crop": [8, 8], "lsq": true], "newId": "qat"])
        let details = try #require(r["result"]?["report"]?["steps"]?.arrayValue?.first?["details"], "\(r)")
        #expect(details["training"]?["steps"] == 2, "\(details)")
        #expect((details["export"]?["weights"]?.intValue ?? 0) > 0)
        #expect(details["valMiou"]?["qat"]?.doubleValue != nil)
        let ptq = try await c.call(3, "model/compress", ["id": "m", "technique": "quantize", "dataset": .string(data.path), "newId": "ptq"])
        let qatOps = try #require(try await c.call(4, "model/info", ["id": "qat"])["result"]?["opCounts"]?.objectValue)
        let ptqOps = try #require(try await c.call(5, "model/info", ["id": "ptq"])["result"]?["opCounts"]?.objectValue, "\(ptq)")
        #expect(qatOps == ptqOps)

        let noData = try await c.call(6, "model/compress", ["id": "m", "technique": "qat"])
        #expect(noData.errorMessage.contains("params.dataset"), "\(noData)")
    }
}
