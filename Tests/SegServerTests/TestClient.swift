import Foundation
import SegProtocol
import SegServer
import SegTransport
import Synchronization
import Testing

/// Talks to an in-process `Connection` over a socketpair, exactly as a client would over
/// stdio: bytes in, bytes out, with timeouts so a hung server fails the test instead of
/// hanging it. The timeouts are generous (5 minutes): the in-process server shares Swift's
/// cooperative pool (one thread per core) with every other suite running in parallel, and
/// numeric suites can hold both threads of a 2-core machine for many seconds. At 2 minutes,
/// a run beside two background trainings timed out in every server suite at once.
final class TestClient: Sendable {
    let fd: Int32
    let core: ServerCore
    let inbox = Inbox()
    let ending: Task<Connection.Ending, Never>

    init(core: ServerCore = ServerCore(configuration: .init(enableDebugMethods: true)), framing: MessageFramer.Framing = .contentLength) {
        var fds: [Int32] = [0, 0]
        let rc = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        precondition(rc == 0, "socketpair failed")
        self.fd = fds[0]
        self.core = core
        let serverFD = fds[1]
        self.framing = framing
        ending = Task {
            let ending = await Connection(core: core, inputFD: serverFD, outputFD: serverFD, label: "test").run()
            close(serverFD)
            return ending
        }
        let inbox = self.inbox
        let box = FramerBox2(MessageFramer(framing: framing))
        FileDescriptorReader.start(fd: fds[0]) { chunk in
            guard let chunk else { return }
            for event in box.framer.feed(chunk) {
                if case .message(let body) = event, let json = try? JSONParser.parse(body) {
                    inbox.items.withLock { $0.append(json) }
                }
            }
        }
    }

    let framing: MessageFramer.Framing

    deinit { close(fd) }

    func sendRaw(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    func send(_ text: String) {
        sendRaw(MessageWriter.frame(Array(text.utf8), framing: framing))
    }

    func send(_ json: JSONValue) { send(json.jsonString) }

    /// Closes our writing side: the server sees end of input.
    func closeInput() { shutdown(fd, Int32(SHUT_WR)) }

    /// Waits until `predicate` holds for what has arrived so far.
    func waitFor(_ what: String, timeout: Double = 300, _ predicate: ([JSONValue]) -> Bool) async throws -> [JSONValue] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let snapshot = inbox.items.withLock { $0 }
            if predicate(snapshot) { return snapshot }
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        let snapshot = inbox.items.withLock { $0 }
        Issue.record("timed out waiting for \(what); received: \(snapshot.map(\.jsonString))")
        throw CancellationError()
    }

    /// The response with this id.
    func response(_ id: JSONValue, timeout: Double = 300) async throws -> JSONValue {
        let all = try await waitFor("response \(id)", timeout: timeout) { $0.contains { $0["id"] == id && $0["method"] == nil } }
        return all.first { $0["id"] == id && $0["method"] == nil }!
    }

    /// Sends a request and waits for its response.
    func call(_ id: Int64, _ method: String, _ params: JSONValue? = nil) async throws -> JSONValue {
        var m: [String: JSONValue] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        if let params { m["params"] = params }
        send(.object(m))
        return try await response(.int(id))
    }

    func initialize() async throws {
        let r = try await call(0, "initialize", [:])
        #expect(r["result"]?["serverInfo"]?["name"] == "segslimd")
        send(#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#)
    }

    var messages: [JSONValue] { inbox.items.withLock { $0 } }
}

final class Inbox: Sendable {
    let items = Mutex<[JSONValue]>([])
}

final class FramerBox2: @unchecked Sendable {
    var framer: MessageFramer
    init(_ framer: MessageFramer) { self.framer = framer }
}

extension JSONValue {
    var errorCode: Int64? { self["error"]?["code"]?.intValue }
    var errorMessage: String { self["error"]?["message"]?.stringValue ?? "" }
}
