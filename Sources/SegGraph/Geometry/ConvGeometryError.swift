/// A window attribute (or the input shape it is applied to) that gives no valid geometry.
/// Names the node and the attribute or input at fault; the reference interpreter reports it
/// as its own `OpError` under the same node label.
package struct ConvGeometryError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Subject: Sendable, Equatable {
        case attribute(String)
        /// An input by position (0: data, 1: weights).
        case input(Int)
    }

    /// The node's name and op type (`'conv1' (Conv)`, or `unnamed Conv`).
    package var node: String
    package var subject: Subject
    package var reason: String

    package init(node: String, _ subject: Subject, _ reason: String) {
        self.node = node
        self.subject = subject
        self.reason = reason
    }

    package var description: String {
        switch subject {
        case .attribute(let name): "node \(node): attribute '\(name)': \(reason)"
        case .input(let index): "node \(node): input \(index): \(reason)"
        }
    }
}
