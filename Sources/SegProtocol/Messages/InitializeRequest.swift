/// `initialize`: the first request of every connection. Answered before anything after it
/// is processed. All params are optional; unknown ones (LSP clients send many) are ignored.
public enum InitializeRequest: RPCRequest {
    public static let method = "initialize"
    public static var acceptsUnknownFields: Bool { true }

    public struct Params: Codable, Sendable, Equatable {
        /// The client's process id, for logs only.
        public var processId: Int64?
        /// `{name, version}` of the client, for logs only.
        public var clientInfo: ClientInfo?

        public init(processId: Int64? = nil, clientName: String? = nil) {
            self.processId = processId
            self.clientInfo = clientName.map { ClientInfo(name: $0) }
        }

        public var clientName: String? { clientInfo?.name }
    }

    public struct ClientInfo: Codable, Sendable, Equatable {
        public var name: String?
        public var version: String?
        public init(name: String? = nil, version: String? = nil) { self.name = name; self.version = version }
    }

    public struct Result: Codable, Sendable, Equatable {
        public var serverInfo: ServerInfo
        public var capabilities: Capabilities

        /// `{name: "segslimd", version}`.
        public var serverName: String { serverInfo.name }
        public var serverVersion: String { serverInfo.version }

        public init(serverName: String, serverVersion: String, methods: [String], techniques: [String],
                    formats: [String: [String]], limits: [String: JSONValue], operators: [JSONValue] = []) {
            serverInfo = ServerInfo(name: serverName, version: serverVersion)
            capabilities = Capabilities(methods: methods, techniques: techniques, formats: formats, limits: limits,
                                        operators: operators, protocolRevision: SegSlimVersion.protocolRevision)
        }

        public var json: JSONValue { (try? InitializeRequest.encodeResult(self)) ?? .null }
    }

    public struct ServerInfo: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
    }

    public struct Capabilities: Codable, Sendable, Equatable {
        /// Every method this daemon answers.
        public var methods: [String]
        /// Ids of the registered techniques (`technique/list` has their descriptors).
        public var techniques: [String]
        /// File formats it reads and writes.
        public var formats: [String: [String]]
        /// `{maxMessageBytes, memoryBudgetBytes, maxBatchSize}`.
        public var limits: [String: JSONValue]
        /// `[{domain, opType, opsets}]` the model runtime implements.
        public var operators: [JSONValue]
        /// Bumped when a method's params or result change incompatibly.
        public var protocolRevision: Int
    }
}
