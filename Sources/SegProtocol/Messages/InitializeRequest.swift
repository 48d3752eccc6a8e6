/// `initialize`: the first request of every connection. Answered before anything after it
/// is processed.
public struct InitializeRequest: Sendable {
    public static let method = "initialize"

    /// The client's process id, for logs only.
    public var processId: Int64?
    /// `{name, version}` of the client, for logs only.
    public var clientName: String?

    public init(processId: Int64? = nil, clientName: String? = nil) {
        self.processId = processId
        self.clientName = clientName
    }

    /// All fields are optional; unknown fields (LSP clients send many) are ignored.
    public init(params: JSONValue?) throws(ResponseError) {
        let p = try ParamReader(params)
        processId = try p.optionalInt("processId")
        clientName = try p.optionalObject("clientInfo")?.optionalString("name")
    }

    public var params: JSONValue {
        var o: [String: JSONValue] = [:]
        if let processId { o["processId"] = .int(processId) }
        if let clientName { o["clientInfo"] = ["name": .string(clientName)] }
        return .object(o)
    }

    public struct Result: Sendable {
        /// `{name: "segslimd", version}`.
        public var serverName: String
        public var serverVersion: String
        /// Every method this daemon answers.
        public var methods: [String]
        /// Ids of the registered techniques (`technique/list` has their descriptors).
        public var techniques: [String]
        /// File formats it reads and writes.
        public var formats: [String: [String]]
        /// `{maxMessageBytes, ...}`.
        public var limits: [String: JSONValue]
        /// `[{domain, opType, opsets}]` the model runtime implements.
        public var operators: [JSONValue]

        public init(serverName: String, serverVersion: String, methods: [String], techniques: [String],
                    formats: [String: [String]], limits: [String: JSONValue], operators: [JSONValue] = []) {
            self.serverName = serverName
            self.serverVersion = serverVersion
            self.methods = methods
            self.techniques = techniques
            self.formats = formats
            self.limits = limits
            self.operators = operators
        }

        public var json: JSONValue {
            [
                "serverInfo": ["name": .string(serverName), "version": .string(serverVersion)],
                "capabilities": [
                    "methods": .array(methods.map(JSONValue.string)),
                    "techniques": .array(techniques.map(JSONValue.string)),
                    "formats": .object(formats.mapValues { .array($0.map(JSONValue.string)) }),
                    "limits": .object(limits),
                    "operators": .array(operators),
                    "protocolRevision": .int(Int64(SegSlimVersion.protocolRevision)),
                ],
            ]
        }
    }
}
