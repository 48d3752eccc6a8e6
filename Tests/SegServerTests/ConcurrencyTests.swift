import Foundation
import SegProtocol
import SegServer
import Testing

@Suite struct ConcurrencyTests {
    @Test func requestsRunConcurrentlyAndAnswerOutOfOrder() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":"slow","method":"debug/sleep","params":{"durationMs":800,"steps":4}}"#)
        c.send(#"{"jsonrpc":"2.0","id":"fast","method":"debug/sleep","params":{"durationMs":10,"steps":1}}"#)
        let all = try await c.waitFor("both answers") { m in m.contains { $0["id"] == "slow" } && m.contains { $0["id"] == "fast" } }
        let order = all.compactMap { $0["id"]?.stringValue }
        #expect(order.firstIndex(of: "fast")! < order.firstIndex(of: "slow")!)
    }

    @Test func cancelRequestAnswersRequestCancelled() async throws {
        let c = TestClient()
        try await c.initialize()
        let start = Date()
        c.send(#"{"jsonrpc":"2.0","id":1,"method":"debug/sleep","params":{"durationMs":60000}}"#)
        try await Task.sleep(nanoseconds: 50_000_000)
        c.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#)
        let r = try await c.response(1)
        #expect(r.errorCode == -32800)
        #expect(Date().timeIntervalSince(start) < 30)
        // Cancelling something that is not running is harmless, and the connection serves on.
        c.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":99}}"#)
        c.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"bogus":true}}"#)
        #expect(try await c.call(2, "model/list")["result"] != nil)
    }

    @Test func cancelOvertakesQueuedWorkAndOnlyHitsItsTarget() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":"a","method":"debug/sleep","params":{"durationMs":60000}}"#)
        c.send(#"{"jsonrpc":"2.0","id":"b","method":"debug/sleep","params":{"durationMs":300,"steps":1}}"#)
        c.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"a"}}"#)
        #expect(try await c.response("a").errorCode == -32800)
        #expect(try await c.response("b")["result"]?["steps"] == 1)
    }

    @Test func duplicateInFlightIdIsRefused() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":5,"method":"debug/sleep","params":{"durationMs":500,"steps":1}}"#)
        c.send(#"{"jsonrpc":"2.0","id":5,"method":"model/list"}"#)
        let first = try await c.response(5)
        #expect(first.errorCode == -32600)
        #expect(first.errorMessage.contains("still running"))
        let both = try await c.waitFor("second answer") { $0.filter { $0["id"] == 5 }.count == 2 }
        #expect(both.last { $0["id"] == 5 }?["result"]?["steps"] == 1)
    }

    @Test func progressIsBeginReportEndBeforeTheResult() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":1,"method":"debug/sleep","params":{"durationMs":40,"steps":4,"workDoneToken":"tok"}}"#)
        let all = try await c.waitFor("result") { $0.contains { $0["id"] == 1 } }
        let kinds = all.filter { $0["method"] == "$/progress" }.map { $0["params"]?["value"]?["kind"]?.stringValue ?? "?" }
        #expect(kinds == ["begin", "report", "report", "report", "report", "end"])
        let tokens = Set(all.filter { $0["method"] == "$/progress" }.compactMap { $0["params"]?["token"] })
        #expect(tokens == ["tok"])
        let pct = all.compactMap { $0["params"]?["value"]?["percentage"]?.intValue }
        #expect(pct == [0, 25, 50, 75, 100])
        #expect(all.last?["id"] == 1)
    }

    @Test func cancelledProgressStillEnds() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":1,"method":"debug/sleep","params":{"durationMs":60000,"workDoneToken":7}}"#)
        _ = try await c.waitFor("begin") { $0.contains { $0["method"] == "$/progress" } }
        c.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#)
        let all = try await c.waitFor("result") { $0.contains { $0["id"] == 1 } }
        let kinds = all.compactMap { $0["params"]?["value"]?["kind"]?.stringValue }
        #expect(kinds.first == "begin")
        #expect(kinds.last == "end")
    }

    @Test func manyConcurrentRequestsEachAnswerOnce() async throws {
        let c = TestClient()
        try await c.initialize()
        for i in 1...200 {
            c.send(i % 2 == 0 ? #"{"jsonrpc":"2.0","id":\#(i),"method":"server/status"}"# : #"{"jsonrpc":"2.0","id":\#(i),"method":"debug/sleep","params":{"durationMs":5,"steps":1}}"#)
        }
        let all = try await c.waitFor("200 answers") { $0.count >= 201 }
        try await Task.sleep(nanoseconds: 50_000_000)
        let ids = all.compactMap { $0["id"]?.intValue }.filter { $0 > 0 }
        #expect(ids.count == 200)
        #expect(Set(ids).count == 200)
        #expect(c.messages.count == 201)
    }
}

@Suite struct CancelOvertakingTests {
    @Test func cancelReachesRequestsThatShutdownIsWaitingFor() async throws {
        let c = TestClient()
        try await c.initialize()
        c.send(#"{"jsonrpc":"2.0","id":2,"method":"debug/sleep","params":{"durationMs":60000}}"#)
        c.send(#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#)
        try await Task.sleep(nanoseconds: 100_000_000)
        c.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":2}}"#)
        #expect(try await c.response(2, timeout: 120).errorCode == -32800)
        #expect(try await c.response(3, timeout: 120)["result"] == .null)
    }

    @Test func requestAndCancelInOneWriteIsCancelled() async throws {
        let c = TestClient()
        try await c.initialize()
        let a = #"{"jsonrpc":"2.0","id":"x","method":"debug/sleep","params":{"durationMs":60000}}"#
        let b = #"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"x"}}"#
        c.sendRaw(Array("Content-Length: \(a.utf8.count)\r\n\r\n\(a)Content-Length: \(b.utf8.count)\r\n\r\n\(b)".utf8))
        #expect(try await c.response("x", timeout: 120).errorCode == -32800)
    }

    @Test func staleCancelDoesNotHitALaterRequestReusingTheId() async throws {
        let c = TestClient()
        try await c.initialize()
        _ = try await c.call(7, "model/list")
        c.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":7}}"#)
        _ = try await c.call(8, "model/list")  // the stale cancel is purged once 8 is dispatched
        c.send(#"{"jsonrpc":"2.0","id":7,"method":"debug/sleep","params":{"durationMs":10,"steps":1}}"#)
        let all = try await c.waitFor("second answer to 7") { $0.filter { $0["id"] == 7 }.count == 2 }
        #expect(all.last { $0["id"] == 7 }?["result"]?["steps"] == 1)
    }

    @Test func notificationsSentAsRequestsAreExplained() async throws {
        let c = TestClient()
        try await c.initialize()
        let r = try await c.call(1, "exit")
        #expect(r.errorCode == -32600)
        #expect(r.errorMessage == "'exit' is a notification: send it without an id")
        #expect(try await c.call(2, "server/status", ["workDoneToken": "t"])["result"] != nil)
    }
}
