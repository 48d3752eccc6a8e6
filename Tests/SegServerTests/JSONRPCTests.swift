import Foundation
import SegProtocol
import SegServer
import SegTransport
import Testing

@Suite struct JSONRPCTests {
    @Test func parseErrorHasANullId() async throws {
        let c = TestClient()
        c.send("{not json")
        let r = try await c.waitFor("parse error") { !$0.isEmpty }[0]
        #expect(r.errorCode == -32700)
        #expect(r["id"] == .null)
        #expect(r.errorMessage.contains("byte 1"))
    }

    @Test func invalidRequestKeepsTheIdWhenReadable() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":9,"method":42}"#)
        #expect(try await c.response(9).errorCode == -32600)
        c.send(#"{"jsonrpc":"2.0","id":{"x":1},"method":"m"}"#)
        let r = try await c.waitFor("invalid id") { $0.count == 3 }[2]
        #expect(r.errorCode == -32600)
        #expect(r["id"] == .null)
    }

    @Test func unknownMethodIsMethodNotFound() async throws {
        let c = TestClient()
        try await c.initialize()
        let r = try await c.call(1, "model/frobnicate")
        #expect(r.errorCode == -32601)
        #expect(r.errorMessage.contains("model/frobnicate"))
    }

    @Test func invalidParamsNameTheField() async throws {
        let c = TestClient()
        try await c.initialize()
        let r1 = try await c.call(1, "debug/sleep", ["durationMs": "long"])
        #expect(r1.errorCode == -32602)
        #expect(r1.errorMessage == "params.durationMs: expected an integer, got string")
        let r2 = try await c.call(2, "debug/sleep", [:])
        #expect(r2.errorMessage == "params.durationMs: required integer is missing")
        let r3 = try await c.call(3, "debug/sleep", ["durationMs": 1, "step": 2])
        #expect(r3.errorMessage.hasPrefix("params.step: unknown field"))
        let r4 = try await c.call(4, "technique/list", ["x": 1])
        #expect(r4.errorCode == -32602)
    }

    @Test func methodsWithOnlyOptionalParamsAcceptEveryEmptyForm() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":1,"method":"model/list"}"#)
        c.send(#"{"jsonrpc":"2.0","id":2,"method":"model/list","params":null}"#)
        c.send(#"{"jsonrpc":"2.0","id":3,"method":"model/list","params":{}}"#)
        c.send(#"{"jsonrpc":"2.0","id":4,"method":"model/list","params":[]}"#)
        for id: JSONValue in [1, 2, 3, 4] {
            #expect(try await c.response(id)["result"] == ["models": []])
        }
    }

    @Test func notificationsAreNeverAnswered() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","method":"server/status"}"#)
        c.send(#"{"jsonrpc":"2.0","method":"no/such/thing","params":{"a":1}}"#)
        c.send(#"{"jsonrpc":"2.0","method":"$/setTrace","params":{"value":"off"}}"#)
        _ = try await c.call(1, "model/list")
        try await Task.sleep(nanoseconds: 50_000_000)
        #expect(c.messages.count == 2)  // initialize's and model/list's answers only
    }

    @Test func stringIdsAreEchoedExactly() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":"abc-1","method":"model/list"}"#)
        #expect(try await c.response("abc-1")["result"] != nil)
    }

    @Test func batchesAnswerWithAnArrayWithoutNotificationEntries() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send("""
            [{"jsonrpc":"2.0","id":1,"method":"model/list"},
             {"jsonrpc":"2.0","method":"initialized"},
             {"jsonrpc":"2.0","id":2,"method":"nope"},
             {"jsonrpc":"2.0","id":3,"method":"debug/sleep","params":{"durationMs":20,"steps":1}},
             42]
            """)
        let batch = try await c.waitFor("batch") { $0.contains { $0.arrayValue != nil } }.first { $0.arrayValue != nil }!
        let entries = try #require(batch.arrayValue)
        #expect(entries.count == 4)
        #expect(entries.first { $0["id"] == 1 }?["result"] == ["models": []])
        #expect(entries.first { $0["id"] == 2 }?.errorCode == -32601)
        #expect(entries.first { $0["id"] == 3 }?["result"]?["steps"] == 1)
        #expect(entries.first { $0["id"] == .null }?.errorCode == -32600)
    }

    @Test func emptyBatchAndNotificationOnlyBatch() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send("[]")
        let r = try await c.waitFor("empty batch error") { $0.count == 2 }[1]
        #expect(r.errorCode == -32600)
        #expect(r["id"] == .null)
        c.send(#"[{"jsonrpc":"2.0","method":"initialized"},{"jsonrpc":"2.0","method":"x"}]"#)
        _ = try await c.call(5, "model/list")
        try await Task.sleep(nanoseconds: 50_000_000)
        #expect(c.messages.count == 3)
    }

    @Test func newlineDelimitedJSONIsAnsweredInKind() async throws {
        let c = TestClient(framing: .newlineDelimited)
        try await c.initialize()
        #expect(try await c.call(1, "model/list")["result"] == ["models": []])
    }

    @Test func oversizedBodyIsRefusedAndTheConnectionKeepsServing() async throws {
        let c = TestClient(core: ServerCore(configuration: .init(maxMessageBytes: 1000, enableDebugMethods: true)))
        try await c.initialize()
        let big = #"{"jsonrpc":"2.0","id":7,"method":"model/list","params":{"pad":""# + String(repeating: "x", count: 5000) + #""}}"#
        c.send(big)
        let r = try await c.waitFor("size error") { $0.count == 2 }[1]
        #expect(r.errorCode == -32600)
        #expect(r.errorMessage.contains("exceeds the limit of 1000 bytes"))
        #expect(try await c.call(8, "model/list")["result"] == ["models": []])
    }

    @Test func badHeaderIsAParseErrorAndTheStreamResyncs() async throws {
        let c = TestClient()
        try await c.initialize()
        c.sendRaw(Array("Content-Lenght: 5\r\n\r\n".utf8))
        let r = try await c.waitFor("header error") { $0.count == 2 }[1]
        #expect(r.errorCode == -32700)
        #expect(r.errorMessage.contains("missing Content-Length"))
        #expect(try await c.call(8, "model/list")["result"] == ["models": []])
    }
}
