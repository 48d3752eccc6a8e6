import Foundation
import SegProtocol
import SegServer
import SegTensor
import SegTestSupport
import SegWeb
import Testing

/// JSON-RPC over the WebSocket of an in-process `WebServer`: the same messages as stdio, one
/// per text frame; the frame-level rules (ping, close, fragmentation, violations); a client
/// that never reads; a client that goes away mid-request; garbage.
struct WebTransportTests {
    @Test func initializeAndStatusOverTheWebSocket() async throws {
        let d = try WebDaemon()
        try await offPool {
            let c = try WebSocketTestClient.rpc(d)
            #expect(try c.call(1, "server/status").errorCode == -32002)   // before initialize, as on stdio
            let initialized = try c.call(2, "initialize", ["clientInfo": ["name": "web-test"]])
            #expect(initialized["result"]?["serverInfo"]?["name"] == "segslimd")
            c.sendText(#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#)
            let status = try c.call(3, "server/status")
            #expect(status["result"]?["connections"] == 1)
            #expect(status["result"]?["pid"]?.intValue == Int64(getpid()))
            // A batch is one text frame in and one out.
            c.sendText(#"[{"jsonrpc":"2.0","id":4,"method":"model/list"},{"jsonrpc":"2.0","id":5,"method":"technique/list"}]"#)
            guard case .array(let answers) = try c.receive() else { Issue.record("batch answer is not an array"); return }
            #expect(Set(answers.compactMap { $0["id"]?.intValue }) == [4, 5])
            // Garbage inside a well-formed frame is a JSON-RPC error, not a dropped connection.
            c.sendText("{not json")
            #expect(try c.receive().errorCode == -32700)
            #expect(try c.call(6, "model/list")["result"] == ["models": []])
        }
    }

    @Test func pingPongAndTheCloseHandshake() async throws {
        let d = try WebDaemon()
        try await offPool {
            let c = try WebSocketTestClient.rpc(d)
            c.sendFrame(.ping, Array("are you there".utf8))
            #expect(try c.nextEvent() == .pong(Array("are you there".utf8)))
            c.sendFrame(.close, WebSocketFrame.closePayload(1001, reason: "tab closed"))
            #expect(try c.closeCode() == 1001)
            #expect(throws: WebTestError.closed) { try c.nextEvent() }

            // exit ends the session from the server's side, with a close frame.
            let e = try WebSocketTestClient.rpc(d)
            _ = try e.call(1, "initialize")
            e.sendText(#"{"jsonrpc":"2.0","method":"exit"}"#)
            #expect(try e.closeCode() == 1000)
        }
    }

    @Test func fragmentedRequestWithAPingBetweenItsFragments() async throws {
        let d = try WebDaemon()
        try await offPool {
            let c = try WebSocketTestClient.rpc(d)
            let text = Array(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#.utf8)
            c.sendFrame(.text, Array(text[0..<10]), fin: false)
            c.sendFrame(.ping, [7])
            c.sendFrame(.continuation, Array(text[10..<30]), fin: false)
            c.sendFrame(.continuation, Array(text[30...]))
            #expect(try c.nextEvent() == .pong([7]))
            #expect(try c.receive()["result"]?["serverInfo"]?["name"] == "segslimd")
        }
    }

    @Test func violationsCloseWithTheirCodeAndTheDaemonGoesOn() async throws {
        let d = try WebDaemon { $0.maxMessageBytes = 1024 }
        try await offPool {
            let unmasked = try WebSocketTestClient.rpc(d)
            writeAll(unmasked.fd, WebSocketFrame.encode(.text, Array(#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#.utf8)))
            #expect(try unmasked.closeCode() == 1002)

            let binary = try WebSocketTestClient.rpc(d)
            binary.sendFrame(.binary, [1, 2, 3])
            #expect(try binary.closeCode() == 1003)

            let big = try WebSocketTestClient.rpc(d)
            big.sendText(String(repeating: " ", count: 1025))
            #expect(try big.closeCode() == 1009)

            let utf8 = try WebSocketTestClient.rpc(d)
            utf8.sendFrame(.text, [0x7B, 0xFF, 0x7D])
            #expect(try utf8.closeCode() == 1007)

            let opcode = try WebSocketTestClient.rpc(d)
            writeAll(opcode.fd, [0x83, 0x80, 1, 2, 3, 4])
            #expect(try opcode.closeCode() == 1002)

            let fine = try WebSocketTestClient.rpc(d)
            #expect(try fine.call(1, "initialize")["result"] != nil)
        }
    }

    /// A client that sends and never reads fills only its own queue: the daemon answers another
    /// client meanwhile, and drops the one that does not read once its queue passes the bound.
    @Test func aClientThatNeverReadsDoesNotBlockOthers() async throws {
        let d = try WebDaemon {
            $0.maxQueuedBytes = 64 << 10
            $0.socketSendBufferBytes = 4096
        }
        try await offPool {
            let stuck = try WebSocketTestClient.rpc(d, receiveBuffer: 4096)
            _ = try stuck.call(1, "initialize")
            let answer = try stuck.call(2, "technique/list")
            let answerBytes = answer.jsonString.utf8.count
            // Enough answers to fill both sockets' buffers and the queue several times over.
            let requests = max(64, 4 * (64 << 10) / max(answerBytes, 1))
            for i in 0..<requests { stuck.sendText(#"{"jsonrpc":"2.0","id":\#(i + 10),"method":"technique/list"}"#) }

            let other = try WebSocketTestClient.rpc(d)
            _ = try other.call(1, "initialize")
            var id: Int64 = 1
            var last: JSONValue? = nil
            let dropped = try eventuallyTrue(60) {
                id += 1
                last = try other.call(id, "server/status")["result"]
                return last?["connections"] == 1
            }
            #expect(dropped, "the client that does not read is still connected: \(String(describing: last)) (\(answerBytes) bytes per answer, \(requests) requests)")
            #expect(try other.call(id + 1, "model/list")["result"] == ["models": []])
        }
    }

    /// A tab closed while its request runs: the request is cancelled, the daemon stops counting
    /// the connection, and goes on serving.
    @Test func aClientClosedMidRequestIsCancelled() async throws {
        let d = try WebDaemon()
        try await offPool {
            let watcher = try WebSocketTestClient.rpc(d)
            _ = try watcher.call(1, "initialize")
            for abrupt in [true, false] {
                let tab = try WebSocketTestClient.rpc(d)
                _ = try tab.call(1, "initialize")
                tab.sendText(#"{"jsonrpc":"2.0","id":2,"method":"debug/sleep","params":{"durationMs":600000,"workDoneToken":"t"}}"#)
                #expect(try tab.receive()["params"]?["value"]?["kind"] == "begin")
                let busy = try watcher.call(2, "server/status")["result"]
                #expect(busy?["connections"] == 2 && busy?["requestsInFlight"] == 2)
                if abrupt {
                    shutdown(tab.fd, Int32(SHUT_RDWR))       // killed tab: the TCP connection just ends
                } else {
                    tab.sendFrame(.close, WebSocketFrame.closePayload(1001))   // closed tab: a close frame first
                }
                var id: Int64 = 10
                var last: JSONValue? = nil
                let settled = try eventuallyTrue(60) {
                    id += 1
                    last = try watcher.call(id, "server/status")["result"]
                    return last?["connections"] == 1 && last?["requestsInFlight"] == 1
                }
                #expect(settled, "abrupt \(abrupt): \(String(describing: last))")
                // Its socket is closed and no longer counted against the connection limit.
                #expect(eventuallyTrue(60) { d.server.openConnections == 1 }, "abrupt \(abrupt): \(d.server.openConnections) open")
            }
        }
    }

    /// Random bytes and mangled frames on many connections, then a well-formed client is
    /// still answered. Each fuzzed connection either gets a close frame or is dropped.
    @Test func fuzzedFramesNeverStopTheDaemon() async throws {
        let d = try WebDaemon { $0.maxMessageBytes = 4096 }
        try await offPool {
            var rng = SeededGenerator(seed: 0xB0_5E_0F_F0)
            let valid = [
                #"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#,
                #"{"jsonrpc":"2.0","id":2,"method":"server/status"}"#,
                #"[{"jsonrpc":"2.0","id":3,"method":"model/list"}]"#,
            ]
            for round in 0..<24 {
                let c = try WebSocketTestClient.rpc(d)
                var bytes: [UInt8] = []
                for _ in 0..<20 {
                    var frame = WebSocketFrame.encode(.text, Array(valid[Int(rng.next() % 3)].utf8),
                                                      mask: (0..<4).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                    for _ in 0..<Int(rng.next() % 3) where !frame.isEmpty {
                        let i = Int(rng.next() % UInt64(frame.count))
                        switch rng.next() % 3 {
                        case 0: frame[i] = UInt8(truncatingIfNeeded: rng.next())
                        case 1: frame.remove(at: i)
                        default: frame.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                        }
                    }
                    bytes += frame
                }
                if round % 3 == 0 { bytes += (0..<3000).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
                writeAll(c.fd, bytes)
                shutdown(c.fd, Int32(SHUT_WR))
                // Whatever came back must be well-formed frames, ending in a close or EOF.
                var ended = false
                while !ended {
                    do {
                        if case .failure(let code, let why) = try c.nextEvent() {
                            Issue.record("round \(round): the server sent a malformed frame (\(code), \(why))")
                            ended = true
                        }
                    } catch WebTestError.closed {
                        ended = true
                    }
                }
            }
            // Garbage before any handshake, on raw connections.
            for _ in 0..<8 {
                let fd = try connectTCP(port: d.port)
                writeAll(fd, (0..<2000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                shutdown(fd, Int32(SHUT_WR))
                var buffer = [UInt8](repeating: 0, count: 4096)
                while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
                close(fd)
            }
            let fine = try WebSocketTestClient.rpc(d)
            _ = try fine.call(1, "initialize")
            #expect(try fine.call(2, "server/status")["result"]?["connections"] == 1)
        }
    }
}

/// The real executable: the URL line on stderr, the page, and JSON-RPC over its WebSocket.
@Suite(.requires(Binaries.requirement), .serialized)
struct WebDaemonProcessTests {
    let daemon = Binaries.daemon ?? ""

    @Test func servesTheAppAndRPCAndPrintsTheURL() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("segslim-web-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data("<!doctype html><title>app</title>\n".utf8).write(to: root.appendingPathComponent("index.html"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: daemon)
        p.arguments = ["--listen", "http://127.0.0.1:0", "--web-root", root.path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() }; p.waitUntilExit() }
        let text = servingLine(err)
        let pattern = /^segslimd: serving http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]{64})\n$/
        let match = try #require(text.wholeMatch(of: pattern), "stderr line: \(text)")
        let port = try #require(UInt16(match.1))
        let token = String(match.2)

        let page = try httpExchange(port: port, "GET /?token=\(token) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n")
        #expect(page.status == 200 && String(decoding: page.body, as: UTF8.self).contains("<title>app</title>"))
        #expect(try httpExchange(port: port, "GET / HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n").status == 403)

        let c = try WebSocketTestClient(port: port, target: "/rpc?token=\(token)", extraHeaders: "Origin: http://localhost:\(port)\r\n")
        #expect(try c.call(1, "initialize")["result"]?["serverInfo"]?["name"] == "segslimd")
        #expect(try c.call(2, "server/status")["result"]?["pid"]?.intValue == Int64(p.processIdentifier))
    }

    /// The first stderr line that starts with "segslimd: serving " (log lines may come first).
    func servingLine(_ pipe: Pipe) -> String {
        while true {
            var line: [UInt8] = []
            while line.last != 0x0A {
                let b = pipe.fileHandleForReading.readData(ofLength: 1)
                if b.isEmpty { return String(decoding: line, as: UTF8.self) }
                line += b
            }
            let text = String(decoding: line, as: UTF8.self)
            if text.hasPrefix("segslimd: serving ") { return text }
        }
    }

    @Test func tokenFlagAndLoopbackRule() throws {
        let refused = try runProcess(daemon, ["--listen", "http://0.0.0.0:0"], timeout: 20)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("not a loopback address") && refused.stderr.contains("--allow-remote"))
        let short = try runProcess(daemon, ["--listen", "http://127.0.0.1:0", "--token", "abc"], timeout: 20)
        #expect(short.status == 2)
        let tls = try runProcess(daemon, ["--listen", "https://127.0.0.1:0"], timeout: 20)
        #expect(tls.status == 2)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: daemon)
        p.arguments = ["--listen", "http://127.0.0.1:0", "--token", "0123456789abcdef-script"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        defer { if p.isRunning { p.terminate() }; p.waitUntilExit() }
        #expect(servingLine(err).hasSuffix("/?token=0123456789abcdef-script\n"))
    }
}
