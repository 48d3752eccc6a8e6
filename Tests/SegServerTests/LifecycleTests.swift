import Foundation
import SegProtocol
@testable import SegServer
import SegTechnique
import Testing

@Suite struct LifecycleTests {
    @Test func requestsBeforeInitializeAreRefused() async throws {
        let c = TestClient()
        let r = try await c.call(1, "server/status")
        #expect(r.errorCode == -32002)
        // Notifications other than exit are ignored before initialize: no answer at all.
        c.send(#"{"jsonrpc":"2.0","method":"initialized"}"#)
        try await c.initialize()
        #expect(try await c.call(2, "server/status")["result"]?["version"] == .string(SegSlimVersion.current))
        #expect(c.messages.count == 3)
    }

    @Test func initializeAdvertisesCapabilities() async throws {
        let c = TestClient()
        let r = try await c.call(1, "initialize", ["processId": 42, "clientInfo": ["name": "test"], "capabilities": [:]])
        let caps = try #require(r["result"]?["capabilities"])
        let methods = caps["methods"]?.arrayValue?.compactMap(\.stringValue) ?? []
        for m in ["initialize", "shutdown", "exit", "$/cancelRequest", "technique/list", "model/list", "server/status", "debug/sleep"] {
            #expect(methods.contains(m), "missing \(m)")
        }
        // Advertised from the registry, in registration order (no list repeated here).
        #expect(caps["techniques"] == .array(TechniqueRegistry.builtIn.ids.map { .string($0) }))
        #expect(TechniqueRegistry.builtIn.ids.count == TechniqueRegistry.builtInTypes.count)
        #expect(caps["limits"]?["maxMessageBytes"] == .int(256 << 20))
        #expect(try await c.call(2, "initialize")["error"]?["code"] == -32600)
    }

    @Test func debugMethodsNeedTheStartUpFlag() async throws {
        let c = TestClient(core: ServerCore())
        try await c.initialize()
        #expect(try await c.call(1, "debug/sleep", ["durationMs": 1]).errorCode == -32601)
    }

    @Test func shutdownThenExitEndsWithZero() async throws {
        let c = TestClient()
        try await c.initialize()
        #expect(try await c.call(1, "shutdown")["result"] == .null)
        let after = try await c.call(2, "server/status")
        #expect(after.errorCode == -32600)
        #expect(after.errorMessage.contains("after shutdown"))
        c.send(#"{"jsonrpc":"2.0","method":"exit"}"#)
        #expect(await c.ending.value == .exit(code: 0))
    }

    @Test func exitWithoutShutdownEndsWithOne() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","method":"exit"}"#)
        #expect(await c.ending.value == .exit(code: 1))
    }

    @Test func endOfInputEndsCleanlyAfterRunningRequestsAnswer() async throws {
        let c = TestClient()
        c.send(#"{"jsonrpc":"2.0","id":0,"method":"initialize"}"#)
        c.send(#"{"jsonrpc":"2.0","id":1,"method":"debug/sleep","params":{"durationMs":100}}"#)
        c.closeInput()
        #expect(await c.ending.value == .endOfInput)
        #expect(try await c.response(1)["result"]?["steps"] == 10)
    }

    @Test func aWholeSessionPipedAtOnceIsProcessedInOrder() async throws {
        // initialize and shutdown are answered before anything after them is looked at, and
        // shutdown waits for earlier requests, so every answer precedes shutdown's.
        let c = TestClient()
        let script = [
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":null}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"debug/sleep","params":{"durationMs":50,"steps":1}}"#,
            #"{"jsonrpc":"2.0","id":3,"method":"server/status","params":[]}"#,
            #"{"jsonrpc":"2.0","id":4,"method":"shutdown"}"#,
            #"{"jsonrpc":"2.0","method":"exit"}"#,
        ]
        c.sendRaw(script.flatMap { Array("Content-Length: \($0.utf8.count)\r\n\r\n\($0)".utf8) })
        #expect(await c.ending.value == .exit(code: 0))
        let ids = try await c.waitFor("4 answers") { $0.count == 4 }.compactMap { $0["id"]?.intValue }
        #expect(ids.first == 1)
        #expect(ids.last == 4)
        #expect(Set(ids) == [1, 2, 3, 4])
    }
}
