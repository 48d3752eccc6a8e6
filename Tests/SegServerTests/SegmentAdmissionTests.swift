import Foundation
import SegImaging
import SegProtocol
import SegServer
import Testing

/// `model/segment` estimates an image's working set from its header and admits it against the
/// memory budget before decoding anything.
@Suite struct SegmentAdmissionTests {
    static func fixture(_ name: String) -> String { ModelMethodTests.fixture(name) }

    /// A 69-byte PNG whose header declares `width`×`height` RGB (under the 64 Mpx decode cap)
    /// over a few bytes of pixel data: what a hostile or broken upload looks like.
    static func craftedPNG(width: UInt32, height: UInt32) -> [UInt8] {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be(UInt32(data.count)) + body + be(Checksum.crc32(body))
        }
        let ihdr = be(width) + be(height) + [8, 2, 0, 0, 0]
        // zlib stream of 64 zero bytes (one filter byte and a few pixels).
        let idat: [UInt8] = [0x78, 0x9C, 0x63, 0x60, 0xA0, 0x0C, 0x00, 0x00, 0x00, 0x40, 0x00, 0x01]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", [])
    }

    func residentBytes(_ c: TestClient, _ id: Int64) async throws -> Int64? {
        try await c.call(id, "model/list")["result"]?["models"]?.arrayValue?.first?["residentBytes"]?.intValue
    }

    @Test func hugeDeclaredImageIsRefusedAndTheDaemonKeepsServing() async throws {
        let core = ServerCore(configuration: .init(enableDebugMethods: true, memoryBudgetBytes: 64 << 20, maxRequestBytes: 1 << 40))
        let c = TestClient(core: core)
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_seg.onnx")), "id": "seg"])
        let before = try await residentBytes(c, 2)

        let png = Self.craftedPNG(width: 8000, height: 8000)
        #expect(png.count < 100)
        let image: JSONValue = ["data": .string(Data(png).base64EncodedString()), "name": "huge.png"]
        // Two at once, as the reproduction: both refused, neither decoded.
        c.send(["jsonrpc": "2.0", "id": 3, "method": "model/segment", "params": ["id": "seg", "images": [image]]])
        c.send(["jsonrpc": "2.0", "id": 4, "method": "model/segment", "params": ["id": "seg", "images": [image]]])
        for id: Int64 in [3, 4] {
            let r = try await c.response(.int(id))
            #expect(r.errorCode == -33006, "\(r)")
            #expect(r.errorMessage.contains("8000×8000") && r.errorMessage.contains("params.images[0]"), "\(r.errorMessage)")
            #expect((r["error"]?["data"]?["neededBytes"]?.intValue ?? 0) > 64 << 20)
            #expect(r["error"]?["data"]?["budgetBytes"]?.intValue == 64 << 20)
        }
        // The plan compiled to learn the arena's size is not kept (nor charged).
        #expect(try await residentBytes(c, 5) == before)
        #expect(core.models.admittedBytes == 0)

        let ok = try await c.call(6, "model/segment", ["id": "seg", "images": [.string(Self.fixture("tinyseg/images/s0.png"))]])
        #expect(ok["result"]?["results"]?.arrayValue?.first?["width"] == 9, "\(ok)")
        #expect(core.models.admittedBytes == 0, "admitted memory is returned when the image is done")
    }

    /// However much budget is free, one image may not take more than the per-request cap
    /// (default 2 GiB): two such files at once cannot take the machine between them.
    @Test func oneImageIsCappedWhateverTheBudgetLeaves() async throws {
        let c = TestClient(core: ServerCore(configuration: .init(enableDebugMethods: true, memoryBudgetBytes: 1 << 40)))
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_seg.onnx")), "id": "seg"])
        let png = Self.craftedPNG(width: 8000, height: 8000)
        let r = try await c.call(2, "model/segment", ["id": "seg", "images": [["data": .string(Data(png).base64EncodedString()), "name": "huge.png"]]])
        #expect(r.errorCode == -33006, "\(r)")
        #expect(r["error"]?["data"]?["requestLimitBytes"]?.intValue == 2 << 30)
        #expect(r.errorMessage.contains("--max-request-memory"), "\(r.errorMessage)")
        let ok = try await c.call(3, "model/segment", ["id": "seg", "images": [.string(Self.fixture("tinyseg/images/s0.png"))]])
        #expect(ok["result"] != nil, "\(ok)")
    }

    /// With room in the budget the same header is admitted and the decoder reports the
    /// truncated pixels: admission does not hide the real error.
    @Test func admittedImageStillGetsTheDecodersVerdict() async throws {
        let c = TestClient(core: ServerCore(configuration: .init(enableDebugMethods: true, memoryBudgetBytes: 1 << 40)))
        try await c.initialize()
        _ = try await c.call(1, "model/load", ["path": .string(Self.fixture("tiny_seg.onnx")), "id": "seg"])
        let png = Self.craftedPNG(width: 64, height: 64)
        let r = try await c.call(2, "model/segment", ["id": "seg", "images": [["data": .string(Data(png).base64EncodedString())]]])
        #expect(r.errorCode == -33009, "\(r)")
    }

    @Test func workingSetGrowsWithTheImageAndTheClasses() {
        let small = ServerCore.segmentWorkingSet(width: 480, height: 360, input: (360, 480), window: (360, 480), classes: 11, slide: false)
        let big = ServerCore.segmentWorkingSet(width: 8000, height: 8000, input: (8000, 8000), window: (8000, 8000), classes: 11, slide: false)
        // 18 + 27 + 44 bytes per pixel at the image's own size.
        #expect(small == 480 * 360 * 89)
        #expect(big == 8000 * 8000 * 89)
        // A model with a fixed 512×512 input costs the same model side whatever the image.
        let fixed = ServerCore.segmentWorkingSet(width: 8000, height: 8000, input: (512, 512), window: (512, 512), classes: 11, slide: false)
        #expect(fixed == 8000 * 8000 * 18 + 512 * 512 * (27 + 44))
    }
}
