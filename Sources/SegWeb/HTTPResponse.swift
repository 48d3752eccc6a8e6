/// One HTTP/1.1 response, serialized whole (the files served are small).
package struct HTTPResponse: Sendable {
    package var status: Int
    package var reason: String
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package init(status: Int, reason: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// A refusal that says nothing beyond its status line: no body, no hint of what failed.
    package static func bare(_ status: Int, _ reason: String) -> HTTPResponse {
        HTTPResponse(status: status, reason: reason, headers: [("Connection", "close")])
    }

    /// Bytes on the wire; a response to HEAD keeps its Content-Length and drops the body.
    package func serialized(includeBody: Bool = true) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(reason)\r\n"
        for h in headers { head += "\(h.name): \(h.value)\r\n" }
        if status != 101 && !headers.contains(where: { $0.name.lowercased() == "content-length" }) {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        var out = Array(head.utf8)
        if includeBody { out += body }
        return out
    }
}
