import Foundation
import SegProtocol
import SegTensor
import SegTransport
import SegTestSupport
import Testing

/// Tests against the real executables: stdout discipline, exit codes, socket mode, fuzzing.
@Suite(.requires(Binaries.requirement))
struct DaemonProcessTests {
    let daemon = Binaries.daemon ?? ""
    let cli = Binaries.cli ?? ""

    func script(_ lines: [String]) -> [UInt8] { Array(lines.map { $0 + "\n" }.joined().utf8) }

    @Test func strayPrintGoesToStderrNotTheProtocolStream() throws {
        let out = try runProcess(daemon, ["--enable-debug-methods"], stdin: script([
            #"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"debug/print","params":{"text":"STRAY OUTPUT"}}"#,
            #"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#,
            #"{"jsonrpc":"2.0","method":"exit"}"#,
        ]))
        #expect(out.status == 0)
        let messages = ndjsonMessages(out.stdout)
        #expect(messages.map { $0["id"] } == [1, 2, 3])
        #expect(!out.stdoutText.contains("STRAY"))
        #expect(out.stderr.contains("STRAY OUTPUT"))
    }

    @Test func exitCodes() throws {
        let clean = try runProcess(daemon, [], stdin: script([
            #"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#, #"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#,
            #"{"jsonrpc":"2.0","method":"exit"}"#,
        ]))
        #expect(clean.status == 0)
        let abrupt = try runProcess(daemon, [], stdin: script([#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#, #"{"jsonrpc":"2.0","method":"exit"}"#]))
        #expect(abrupt.status == 1)
        let eof = try runProcess(daemon, [], stdin: [])
        #expect(eof.status == 0)
        let badFlag = try runProcess(daemon, ["--no-such-flag"])
        #expect(badFlag.status == 2)
        #expect(badFlag.stderr.contains("--no-such-flag"))
    }

    @Test func lspFramingOnTheRealProcess() throws {
        let body = #"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#
        let out = try runProcess(daemon, [], stdin: Array("Content-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
        #expect(out.stdoutText.hasPrefix("Content-Length: "))
        var f = MessageFramer()
        let events = f.feed(out.stdout)
        #expect(events.count == 1)
    }

    @Test func maxMessageBytesFlagIsHonoured() throws {
        let pad = String(repeating: "x", count: 300)
        let out = try runProcess(daemon, ["--max-message-bytes", "200"], stdin: script([
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"pad":"\#(pad)"}}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"initialize"}"#,
        ]))
        let m = ndjsonMessages(out.stdout)
        #expect(m.count == 2)
        #expect(m.first?["error"]?["code"] == -32600)
        #expect(m.last?["id"] == 2)
    }

    /// Random bytes, then mutated valid messages: the daemon must never crash, and must still
    /// answer a valid request afterwards on the same connection (NDJSON keeps lines apart).
    @Test func fuzzedInputNeverKillsTheDaemon() throws {
        var rng = SeededGenerator(seed: 0x5E65_11A4)
        let valid = [
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"fuzz"}}}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"debug/sleep","params":{"durationMs":1,"steps":1}}"#,
            #"[{"jsonrpc":"2.0","id":3,"method":"model/list"},{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":3}}]"#,
            #"{"jsonrpc":"2.0","id":"s","method":"technique/list","params":[]}"#,
        ]
        for round in 0..<6 {
            var input: [UInt8] = Array("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\"}\n".utf8)
            for _ in 0..<300 {
                var bytes = Array(valid[Int(rng.next() % UInt64(valid.count))].utf8)
                let mutations = Int(rng.next() % 4)
                for _ in 0..<mutations where !bytes.isEmpty {
                    let i = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 4 {
                    case 0: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes.remove(at: i)
                    case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                    default: bytes = Array(bytes[0..<i])
                    }
                }
                input += bytes.filter { $0 != 0x0A } + [0x0A]
            }
            // Pure noise, newline-terminated so the next line starts fresh.
            input += (0..<2000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }.filter { $0 != 0x0A } + [0x0A]
            input += Array(#"{"jsonrpc":"2.0","id":"last","method":"server/status"}"#.utf8) + [0x0A]
            let out = try runProcess(daemon, ["--enable-debug-methods"], stdin: input)
            #expect(out.status == 0 || out.status == 1, "round \(round): exit status \(out.status)\n\(out.stderr.suffix(2000))")
            #expect(!out.stderr.contains("Fatal error"), "round \(round)")
            let messages = ndjsonMessages(out.stdout)
            // Garbage is the client's fault: parse, invalid-request, method and params errors
            // (or an application code), each with a message; never -32603 internal error.
            let errors = messages.compactMap { $0["error"] }
            #expect(!errors.isEmpty, "round \(round): no error answered")
            for e in errors {
                let code = Int(e["code"]?.intValue ?? 0)
                #expect([-32700, -32600, -32601, -32602, -32002, -32800].contains(code) || (-33099 ... -33000).contains(code),
                        "round \(round): \(e)")
                let message = e["message"]?.stringValue ?? ""
                #expect(message.count > 0, "round \(round): \(e)")
            }
            // A fuzzed "exit" may legitimately end the session early; otherwise "last" is answered.
            let exited = out.status == 1 || messages.contains { $0["id"] == "last" }
            #expect(exited, "round \(round): no answer to the final request")
        }
    }

    /// Random bytes in LSP mode: framing may never resync after a fuzzed Content-Length, but
    /// the process must end cleanly at EOF.
    @Test func randomBytesInLSPModeEndCleanly() throws {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<5 {
            var input = Array("Content-Length: 10\r\n\r\n".utf8)
            input += (0..<20_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let out = try runProcess(daemon, [], stdin: input)
            #expect(out.status == 0, "\(out.stderr.suffix(1000))")
        }
    }
}
