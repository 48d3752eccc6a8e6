import Testing
import SegGraph
import SegTensor
@testable import SegONNX

/// The wire codec against protobuf bytes worked out by hand from the encoding spec.
@Suite struct ProtoWireTests {
    private func reader(_ bytes: [UInt8]) -> ProtoReader { ProtoReader(bytes: bytes, message: "Test") }

    @Test func varints() throws {
        // 300 = 0b1_0010_1100 → AC 02; -1 as int64 → nine FF bytes then 01.
        var r = reader([0x08, 0xAC, 0x02, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x18, 0x00])
        #expect(try r.next() == 1)
        #expect(try r.int64() == 300)
        #expect(try r.next() == 2)
        #expect(r.wireType == .varint)
        #expect(try r.int64() == -1)
        #expect(try r.next() == 3)
        #expect(try r.int64() == 0)
        #expect(try r.next() == nil)

        // An int32 field holding -2 is sign-extended to 10 bytes on the wire.
        var n = reader([0x10, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        _ = try n.next()
        #expect(try n.int32() == -2)
    }

    @Test func writerMatchesHandEncoding() {
        var w = ProtoWriter()
        w.int(1, 300)
        w.int(2, -1)
        w.float(3, 1.0)     // key 0x1D, then 00 00 80 3F
        w.string(4, "hi")   // key 0x22, length 2
        w.packedInts(5, [1, 2, 150])  // key 0x2A, length 4, 01 02 96 01
        #expect(w.bytes == [0x08, 0xAC, 0x02,
                            0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
                            0x1D, 0x00, 0x00, 0x80, 0x3F,
                            0x22, 0x02, 0x68, 0x69,
                            0x2A, 0x04, 0x01, 0x02, 0x96, 0x01])
    }

    @Test func zigzag() throws {
        // Values from the protobuf encoding guide's zigzag table.
        let table: [(Int64, UInt64)] = [(0, 0), (-1, 1), (1, 2), (-2, 3), (2_147_483_647, 4_294_967_294),
                                        (-2_147_483_648, 4_294_967_295), (.max, .max - 1), (.min, .max)]
        for (value, encoded) in table {
            #expect(ProtoWriter.zigzagEncode(value) == encoded)
            #expect(ProtoReader.zigzagDecode(encoded) == value)
        }
        var w = ProtoWriter()
        w.sint(1, -3)  // zigzag 5 → 08 05
        #expect(w.bytes == [0x08, 0x05])
        var r = reader(w.bytes)
        _ = try r.next()
        #expect(try r.sint64() == -3)
    }

    @Test func fixedWidths() throws {
        // fixed64 double 1.5 = 0x3FF8000000000000; fixed32 float -2 = 0xC0000000.
        var r = reader([0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x15, 0, 0, 0, 0xC0])
        _ = try r.next()
        #expect(try r.double() == 1.5)
        _ = try r.next()
        #expect(try r.float() == -2)
    }

    @Test("packed and unpacked repeated fields decode the same")
    func packedAndUnpacked() throws {
        // TensorProto: dims [2, 3] packed (0A 02 02 03), data_type FLOAT (10 01),
        // float_data unpacked (each 25 + 4 bytes), name "w" (42 01 77).
        var bytes: [UInt8] = [0x0A, 0x02, 0x02, 0x03, 0x10, 0x01]
        for value: Float in [1, 2, 3, 4, 5, 6] {
            bytes += [0x25] + withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        }
        bytes += [0x42, 0x01, 0x77]
        let (name, tensor) = try TensorProtoDecoder.decode(reader(bytes), context: DecodeContext(baseDirectory: nil), role: "test")
        #expect(name == "w")
        #expect(tensor.dims == [2, 3])
        #expect(try tensor.scalars(as: Float.self) == [1, 2, 3, 4, 5, 6])

        // Same tensor with dims unpacked (08 02 08 03) and float_data packed (22 18 ...).
        var other: [UInt8] = [0x08, 0x02, 0x08, 0x03, 0x10, 0x01, 0x22, 0x18]
        for value: Float in [1, 2, 3, 4, 5, 6] { other += withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
        let (_, same) = try TensorProtoDecoder.decode(reader(other), context: DecodeContext(baseDirectory: nil), role: "test")
        #expect(same == tensor)
    }

    @Test("unknown fields of every wire type are skipped, groups included")
    func unknownFields() throws {
        let bytes: [UInt8] = [
            0xF8, 0x07, 0x96, 0x01,              // field 127 varint
            0xF9, 0x07, 1, 2, 3, 4, 5, 6, 7, 8,  // field 127 fixed64
            0xFD, 0x07, 1, 2, 3, 4,              // field 127 fixed32
            0xFA, 0x07, 0x02, 0xAA, 0xBB,        // field 127 length-delimited
            0xFB, 0x07, 0x08, 0x01, 0xFC, 0x07,  // field 127 group holding field 1 = 1
            0x08, 0x2A,                          // field 1 = 42
        ]
        var r = reader(bytes)
        var seen: [Int64] = []
        while let field = try r.next() {
            if field == 1 { seen.append(try r.int64()) } else { try r.skip() }
        }
        #expect(seen == [42])
    }

    @Test func truncationReportsOffset() {
        // Length-delimited field claims 5 bytes, 2 remain; the length byte is at offset 1.
        var r = reader([0x0A, 0x05, 0x61, 0x62])
        #expect(throws: ONNXError.truncated(message: "Test", offset: 1)) {
            _ = try r.next()
            _ = try r.string()
        }
        var v = reader([0x08, 0x80, 0x80])
        #expect(throws: ONNXError.truncated(message: "Test", offset: 1)) {
            _ = try v.next()
            _ = try v.int64()
        }
        var f = reader([0x0D, 0x00, 0x00])
        #expect(throws: ONNXError.truncated(message: "Test", offset: 1)) {
            _ = try f.next()
            _ = try f.float()
        }
    }

    @Test func corruptVarint() {
        var r = reader([0x08] + [UInt8](repeating: 0xFF, count: 11))
        #expect(throws: ONNXError.malformedVarint(message: "Test", offset: 1)) {
            _ = try r.next()
            _ = try r.int64()
        }
    }

    @Test func invalidKeys() {
        var zero = reader([0x00, 0x01])
        #expect(throws: ONNXError.invalidKey(message: "Test", offset: 0, key: 0)) { _ = try zero.next() }
        var wireSeven = reader([0x0F])
        #expect(throws: ONNXError.invalidKey(message: "Test", offset: 0, key: 15)) { _ = try wireSeven.next() }
    }

    @Test func wrongWireType() throws {
        // The wire decoder itself (ONNX.decode words an error at byte 0 as "not an ONNX model").
        // ModelProto.ir_version (field 1, int64) sent as length-delimited: 0A 00.
        #expect(throws: ONNXError.wrongWireType(message: "ModelProto", field: 1, expected: "varint", actual: 2, offset: 0)) {
            _ = try ModelProtoDecoder.decode([0x0A, 0x00], context: DecodeContext(baseDirectory: nil))
        }
        // ModelProto.graph (field 7, message) sent as varint: 38 01.
        let error = onnxError { _ = try ModelProtoDecoder.decode([0x08, 0x08, 0x38, 0x01], context: DecodeContext(baseDirectory: nil)) }
        #expect(error == .wrongWireType(message: "ModelProto", field: 7, expected: "embedded message GraphProto", actual: 0, offset: 2))
    }

    @Test func invalidUTF8() {
        // ModelProto.producer_name (field 2) = FF.
        #expect(throws: ONNXError.invalidUTF8(message: "ModelProto", field: 2, offset: 2)) {
            _ = try ONNX.decode([0x12, 0x01, 0xFF])
        }
    }

    @Test("nesting deeper than the limit is an error, not a stack overflow")
    func depthLimit() {
        // Graph → node → attribute(g) → graph ..., 40 levels = 120 nested messages.
        var graph: [UInt8] = []
        for _ in 0..<40 {
            var attribute = ProtoWriter()
            attribute.string(1, "body")
            attribute.data(6, graph)
            attribute.int(20, 5)
            var node = ProtoWriter()
            node.string(4, "If")
            node.data(5, attribute.bytes)
            var outer = ProtoWriter()
            outer.data(1, node.bytes)
            graph = outer.bytes
        }
        var model = ProtoWriter()
        model.int(1, 8)
        model.data(7, graph)
        let error = onnxError { _ = try ONNX.decode(model.bytes) }
        guard case .nestingTooDeep(_, _, let limit)? = error else {
            Issue.record("expected nestingTooDeep, got \(String(describing: error))")
            return
        }
        #expect(limit == ProtoReader.maximumDepth)
    }

    @Test("a minimal model written out by hand decodes")
    func handWrittenModel() throws {
        // NodeProto: input "x" (0A 01 78), output "y" (12 01 79), op_type "Relu" (22 04 ...).
        let node: [UInt8] = [0x0A, 0x01, 0x78, 0x12, 0x01, 0x79, 0x22, 0x04, 0x52, 0x65, 0x6C, 0x75]
        // GraphProto: node (0A 0C ...), input ValueInfo "x" (5A 03 0A 01 78), output "y" (62 03 0A 01 79).
        let graph: [UInt8] = [0x0A, 0x0C] + node + [0x5A, 0x03, 0x0A, 0x01, 0x78, 0x62, 0x03, 0x0A, 0x01, 0x79]
        // ModelProto: ir_version 8 (08 08), graph (3A 18 ...), opset {"" , 17} (42 04 0A 00 10 11),
        // model_version -1 as a 10-byte varint (28 FF.. 01).
        let model: [UInt8] = [0x08, 0x08, 0x3A, 0x18] + graph + [0x42, 0x04, 0x0A, 0x00, 0x10, 0x11]
            + [0x28, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        let decoded = try ONNX.decode(model)
        #expect(decoded.irVersion == 8)
        #expect(decoded.modelVersion == -1)
        #expect(decoded.opsetImports == [OpsetImport(domain: "", version: 17)])
        #expect(decoded.graph.nodes.map(\.opType) == ["Relu"])
        #expect(decoded.graph.inputs.map(\.name) == ["x"])
        // Our writer puts model_version (field 5) before graph (field 7), as protoc does.
        // The empty default domain is left unset (42 02 10 11), as torch.onnx writes it.
        #expect(try ONNX.encode(decoded) == [0x08, 0x08, 0x28, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
                                             0x3A, 0x18] + graph + [0x42, 0x02, 0x10, 0x11])
    }
}
