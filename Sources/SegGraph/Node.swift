/// One operator application.
///
/// Inputs and outputs are value names; an empty string marks an omitted optional input or
/// output (ONNX convention), so positions keep their meaning.
public struct Node: Sendable, Equatable {
    public var name: String
    public var opType: String
    /// Operator set domain; "" (and "ai.onnx") is the default ONNX domain.
    public var domain: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [NamedAttribute]
    public var docString: String

    public init(name: String = "", opType: String, domain: String = "", inputs: [String], outputs: [String],
                attributes: [NamedAttribute] = [], docString: String = "") {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
        self.docString = docString
    }

    /// The attribute with this name, if present.
    public subscript(attribute name: String) -> Attribute? {
        get { attributes.first { $0.name == name }?.value }
        set {
            if let index = attributes.firstIndex(where: { $0.name == name }) {
                if let newValue { attributes[index].value = newValue } else { attributes.remove(at: index) }
            } else if let newValue {
                attributes.append(NamedAttribute(name, newValue))
            }
        }
    }

    /// How errors refer to this node: its name, or its op type and position when unnamed.
    public func label(index: Int) -> String {
        name.isEmpty ? "#\(index) (\(opType), unnamed)" : "'\(name)' (\(opType))"
    }
}
