import SegProtocol

/// Where one connection's outgoing messages go: a framed file descriptor (stdio, a Unix
/// socket) or a WebSocket. The server writes through this and never learns which.
package protocol MessageSink: AnyObject, Sendable {
    /// Sends one serialized JSON-RPC message; false when the peer can no longer get it.
    @discardableResult
    func send(body: [UInt8]) -> Bool
    /// True once a send has failed (or the sink was closed): later sends are dropped.
    var isClosed: Bool { get }
    /// True when nobody will read what is sent any more (a killed client, a closed tab), as
    /// opposed to a client that only finished sending and still reads its answers.
    var peerIsGone: Bool { get }
}

extension MessageSink {
    @discardableResult
    package func send(_ message: JSONValueConvertible) -> Bool {
        send(body: message.jsonValue.serialized())
    }
}
