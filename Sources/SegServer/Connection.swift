import Foundation
import SegProtocol
import SegTransport
import Synchronization

/// One client connection: framing, JSON-RPC dispatch, lifecycle, concurrency and cancellation.
///
/// Messages are taken in arrival order by one loop. Ordinary requests each run in their own
/// task and answer whenever they finish (possibly out of order); `initialize` and `shutdown`
/// are answered before the loop looks at the next message, so a script may pipe a whole
/// session at once. `$/cancelRequest` is handled by the loop itself, so it overtakes the
/// requests it cancels.
package final class Connection: Sendable {
    package enum Ending: Sendable, Equatable {
        /// `exit` after `shutdown` (0) or without it (1).
        case exit(code: Int32)
        /// The client closed its end.
        case endOfInput
    }

    enum Phase { case uninitialized, running, shutDown }

    enum InFlight {
        case starting(cancelRequested: Bool)
        case running(Task<Void, Never>)
    }

    struct State {
        var phase = Phase.uninitialized
        var inFlight: [RequestID: InFlight] = [:]
        /// Cancels that arrived (on the reader thread) for ids not yet running, with the
        /// sequence number of the cancel: they apply only to an earlier message with that id.
        var pendingCancels: [RequestID: Int] = [:]
        /// Counted in `server/status` until the client ends the session or goes away (not
        /// until its cancelled requests have wound down).
        var counted = false
        /// Requests retired from `inFlight` (so their id may be reused at once) whose answer
        /// is still being written: `drain` waits for them too, or a daemon exiting at the end
        /// of input could cut its last answer short.
        var answering = 0
    }

    enum Incoming: Sendable {
        case event(MessageFramer.Event, sequence: Int)
        case end
    }

    /// Where a connection's messages come from. Called once by `run`; it must hand every batch
    /// of framing events to `deliver` in arrival order, one call at a time (from one reader
    /// thread), and then `nil` once at the end of input.
    package typealias MessageSource = @Sendable (_ deliver: @escaping @Sendable ([MessageFramer.Event]?) -> Void) -> Void

    let core: ServerCore
    let source: MessageSource
    let writer: any MessageSink
    let label: String
    let state = Mutex(State())

    /// Reads `inputFD` and writes `outputFD` (the same descriptor for a socket), framed as the
    /// client's first bytes choose.
    package convenience init(core: ServerCore, inputFD: Int32, outputFD: Int32, label: String = "stdio") {
        let writer = MessageWriter(fd: outputFD)
        self.init(core: core, label: label, sink: writer,
                  source: Self.framedSource(fd: inputFD, writer: writer, maxBodyBytes: core.configuration.maxMessageBytes))
    }

    /// Serves messages that arrive already delimited (a WebSocket's text frames) or through
    /// any other source, answering through `sink`.
    package init(core: ServerCore, label: String, sink: any MessageSink, source: @escaping MessageSource) {
        self.core = core
        self.source = source
        self.writer = sink
        self.label = label
    }

    /// Reads a byte stream on its own thread and splits it into messages; answers go out in
    /// the framing the client chose, from its first message on.
    static func framedSource(fd: Int32, writer: MessageWriter, maxBodyBytes: Int) -> MessageSource {
        { deliver in
            let box = FramerBox(MessageFramer(maxBodyBytes: maxBodyBytes))
            FileDescriptorReader.start(fd: fd) { chunk in
                guard let chunk else {
                    deliver(box.framer.finish())
                    deliver(nil)
                    return
                }
                let events = box.framer.feed(chunk)
                if let f = box.framer.framing, f != writer.framing { writer.framing = f }
                deliver(events)
            }
        }
    }

    /// Serves until `exit` or end of input. Requests still running at `exit` are abandoned.
    package func run() async -> Ending {
        core.stats.connectionOpened()
        state.withLock { $0.counted = true }
        defer { uncount() }
        Log.info("\(label): connection open")
        let (stream, continuation) = AsyncStream<Incoming>.makeStream()
        let counter = SequenceBox()
        source { [self] events in
            guard let events else {
                continuation.yield(.end)
                continuation.finish()
                return
            }
            var queued: [(MessageFramer.Event, Int)] = []
            for event in events {
                counter.value += 1
                // `$/cancelRequest` overtakes everything queued, even a `shutdown` that is
                // waiting for running requests: it is acted on here, on the reader thread,
                // and before anything of the same read is queued, so a request read together
                // with its cancel never gets to start working.
                if case .message(let body) = event, let id = Self.cancelTarget(body) {
                    cancel(id, sequence: counter.value)
                    continue
                }
                queued.append((event, counter.value))
            }
            for (event, sequence) in queued { continuation.yield(.event(event, sequence: sequence)) }
        }
        for await incoming in stream {
            if case .event(_, let sequence) = incoming { purgeStaleCancels(before: sequence) }
            switch incoming {
            case .end:
                await finishAtEndOfInput()
                return .endOfInput
            case .event(.error(let e), _):
                Log.warning("\(label): \(e)")
                let code: ErrorCode = { if case .bodyTooLarge = e { return .invalidRequest } else { return .parseError } }()
                if case .truncated = e { continue }
                if case .truncatedHeader = e { continue }
                writer.send(Message.invalid(id: nil, error: ResponseError(code, e.description)))
            case .event(.message(let body), _):
                if let ending = await handle(body: body) {
                    cancelAll()
                    return ending
                }
            }
        }
        return .endOfInput
    }

    /// Handles one framed body; returns an ending when it was `exit`.
    func handle(body: [UInt8]) async -> Ending? {
        let json: JSONValue
        do {
            json = try JSONParser.parse(body)
        } catch {
            writer.send(Message.invalid(id: nil, error: ResponseError(.parseError, error.description)))
            return nil
        }
        guard case .array(let elements) = json else {
            return await process(Message(json: json)) { [writer] reply in writer.send(reply) }
        }
        return await handleBatch(elements)
    }

    /// JSON-RPC batches: an array in, an array out, in no particular order; notifications get
    /// no entry, and a batch of only notifications gets no answer at all.
    func handleBatch(_ elements: [JSONValue]) async -> Ending? {
        guard !elements.isEmpty else {
            writer.send(Message.invalid(id: nil, error: ResponseError(.invalidRequest, "empty batch")))
            return nil
        }
        guard elements.count <= ServerCore.maxBatchSize else {
            writer.send(Message.invalid(id: nil, error: ResponseError(.invalidRequest, "batch of \(elements.count) messages exceeds the limit of \(ServerCore.maxBatchSize)")))
            return nil
        }
        let messages = elements.map(Message.init(json:))
        let expected = messages.filter {
            switch $0 {
            case .request, .invalid: return true
            case .notification, .response: return false
            }
        }.count
        let collector = BatchCollector(expected: expected, writer: writer)
        var ending: Ending? = nil
        for m in messages where ending == nil {
            ending = await process(m) { reply in collector.add(reply) }
        }
        return ending
    }

    /// Dispatches one message. `reply` is called exactly once for requests and invalid
    /// messages (possibly later, from another task) and never for notifications.
    func process(_ message: Message, reply: @escaping @Sendable (Message) -> Void) async -> Ending? {
        switch message {
        case .invalid:
            reply(message)
        case .response(let id, _):
            Log.debug("\(label): ignoring a response (id \(id.map(String.init(describing:)) ?? "null")); segslimd sends no requests")
        case .notification(let method, let params):
            return handleNotification(method, params)
        case .request(let id, let method, let params):
            await handleRequest(id: id, method: method, params: params, reply: reply)
        }
        return nil
    }

    func handleNotification(_ method: String, _ params: JSONValue?) -> Ending? {
        switch method {
        case ExitNotification.method:
            let code: Int32 = state.withLock { $0.phase == .shutDown } ? 0 : 1
            Log.info("\(label): exit (\(code))")
            return .exit(code: code)
        case InitializedNotification.method:
            break
        case CancelRequestNotification.method:
            // Valid ones were handled on the reader thread; this is one without a usable id
            // (or inside a batch).
            guard let note = try? CancelRequestNotification(params: params) else {
                Log.warning("\(label): ignoring $/cancelRequest without a valid id")
                return nil
            }
            cancel(note.id, sequence: Int.max)
        default:
            Log.debug("\(label): ignoring notification '\(method)'")
        }
        return nil
    }

    func handleRequest(id: RequestID, method: String, params: JSONValue?, reply: @escaping @Sendable (Message) -> Void) async {
        func fail(_ code: ErrorCode, _ text: String) { reply(.response(id: id, result: .failure(ResponseError(code, text)))) }
        let phase = state.withLock { $0.phase }
        switch (phase, method) {
        case (_, ExitNotification.method), (_, InitializedNotification.method), (_, CancelRequestNotification.method):
            return fail(.invalidRequest, "'\(method)' is a notification: send it without an id")
        case (.shutDown, _):
            return fail(.invalidRequest, "'\(method)' after shutdown: only the 'exit' notification is accepted now")
        case (.uninitialized, InitializeRequest.method):
            do {
                let req = try InitializeRequest.decodeParams(params)
                Log.info("\(label): initialize from \(req.clientName ?? "an unnamed client")")
                state.withLock { $0.phase = .running }
                reply(.response(id: id, result: .success(core.initializeResult().json)))
            } catch {
                reply(.response(id: id, result: .failure(ServerCore.responseError(for: error))))
            }
            return
        case (.uninitialized, _):
            return fail(.serverNotInitialized, "'\(method)' before 'initialize'")
        case (.running, InitializeRequest.method):
            return fail(.invalidRequest, "'initialize' was already received on this connection")
        case (.running, ShutdownRequest.method):
            // Answered once everything before it has answered, so `shutdown` marks the point
            // where every earlier result is on the wire.
            state.withLock { $0.phase = .shutDown }
            // The loop waits here, so it would not see the client go away: watch for that
            // meanwhile, as the end of input does (a client that quit after `shutdown` reads
            // nothing more, and its requests must not run on).
            let watch = goneWatch()
            await drain()
            watch.cancel()
            return reply(.response(id: id, result: .success(.null)))
        case (.running, _):
            break
        }
        guard let handler = core.methods[method] else {
            return fail(.methodNotFound, "unknown method '\(method)'")
        }
        let duplicate = state.withLock { s -> Bool in
            if s.inFlight[id] != nil { return true }
            // A cancel for this id that overtook the request on the reader thread.
            let cancelled = s.pendingCancels.removeValue(forKey: id) != nil
            s.inFlight[id] = .starting(cancelRequested: cancelled)
            return false
        }
        if duplicate { return fail(.invalidRequest, "a request with id \(id) is still running") }

        let token: ProgressToken? = params?["workDoneToken"].flatMap { RequestID(json: $0) }
        let ctx = RequestContext(id: id, params: params, core: core,
                                 progress: token.map { ProgressReporter(token: $0, writer: writer) } ?? .none)
        let stats = core.stats
        stats.requestStarted()
        handler.admit?(ctx)
        let task = Task { [self] in
            let result: Result<JSONValue, ResponseError>
            do {
                result = .success(try await handler.run(ctx))
            } catch {
                // Whatever a cancelled request throws on its way out (a runtime's own
                // `cancelled`, a technique wrapping it, a half-read file) is the cancel
                // showing through: the answer is RequestCancelled, and nothing is logged.
                result = .failure(Task.isCancelled ? .cancelled : ServerCore.responseError(for: error))
            }
            ctx.progress.end()
            state.withLock { s in
                s.inFlight.removeValue(forKey: id)
                s.answering += 1
            }
            stats.requestFinished()
            reply(.response(id: id, result: result))
            state.withLock { $0.answering -= 1 }
        }
        state.withLock { s in
            guard case .starting(let cancelRequested)? = s.inFlight[id] else { return }  // already finished
            s.inFlight[id] = .running(task)
            if cancelRequested { task.cancel() }
        }
    }

    /// Cancels a running request, or remembers the cancel for a request still queued behind
    /// it (the cancel's `sequence` tells the two apart from a stale cancel).
    func cancel(_ id: RequestID, sequence: Int) {
        state.withLock { s in
            switch s.inFlight[id] {
            case .starting?: s.inFlight[id] = .starting(cancelRequested: true)
            case .running(let task)?: task.cancel()
            case nil:
                if s.pendingCancels.count < 4096 { s.pendingCancels[id] = sequence }
            }
        }
    }

    /// Once every message before a cancel has been dispatched, a cancel that found nothing is
    /// stale (its request had already finished) and must not hit a later request reusing the id.
    func purgeStaleCancels(before sequence: Int) {
        state.withLock { s in
            guard !s.pendingCancels.isEmpty else { return }
            s.pendingCancels = s.pendingCancels.filter { $0.value > sequence }
        }
    }

    /// The id a `$/cancelRequest` notification names, or nil for every other body. The byte
    /// check keeps the common case to one scan.
    static func cancelTarget(_ body: [UInt8]) -> RequestID? {
        let marker = Array("$/cancelRequest".utf8)
        guard body.count < 4096, body.first == UInt8(ascii: "{"),
              body.indices.contains(where: { i in body[i] == 0x24 && body[i...].starts(with: marker) }),
              let json = try? JSONParser.parse(body),
              case .notification(CancelRequestNotification.method, let params) = Message(json: json),
              let note = try? CancelRequestNotification(params: params)
        else { return nil }
        return note.id
    }

    /// Waits until no request is running.
    func drain() async {
        while true {
            let tasks = state.withLock { s in
                s.inFlight.values.compactMap { f -> Task<Void, Never>? in
                    if case .running(let t) = f { return t } else { return nil }
                }
            }
            let pending = state.withLock { !$0.inFlight.isEmpty || $0.answering > 0 }
            if !pending { return }
            if tasks.isEmpty { await Task.yield(); continue }
            for t in tasks { await t.value }
        }
    }

    func cancelAll() {
        state.withLock { s in
            for (id, f) in s.inFlight {
                switch f {
                case .running(let task): task.cancel()
                case .starting: s.inFlight[id] = .starting(cancelRequested: true)
                }
            }
        }
    }

    /// Takes this connection out of the live count, once.
    func uncount() {
        let was = state.withLock { s in
            defer { s.counted = false }
            return s.counted
        }
        if was { core.stats.connectionClosed() }
    }

    /// A script may close its input right after its last request and still read the answers:
    /// running requests finish first. A client that went away altogether (killed, socket
    /// closed) reads nothing more, so its requests are cancelled, then or as soon as it goes
    /// while they finish; a cancelled request writes no files.
    func finishAtEndOfInput() async {
        let writer = self.writer
        let gone = { writer.isClosed || writer.peerIsGone }
        if gone() {
            Log.info("\(label): client gone; cancelling running requests")
            uncount()
            cancelAll()
            await drain()
            return
        }
        Log.info("\(label): end of input; finishing running requests")
        let watch = goneWatch()
        await drain()
        watch.cancel()
    }

    /// Polls for the client going away while requests finish; then cancels them. Cancel the
    /// returned task when they are done.
    private func goneWatch() -> Task<Void, Never> {
        let writer = self.writer
        return Task { [self] in
            while !Task.isCancelled {
                if writer.isClosed || writer.peerIsGone {
                    Log.info("\(label): client gone; cancelling running requests")
                    uncount()
                    cancelAll()
                    return
                }
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }
}

/// The framer lives on the reader thread only; the box lets the reader's closure own it.
final class FramerBox: @unchecked Sendable {
    var framer: MessageFramer
    init(_ framer: MessageFramer) { self.framer = framer }
}

/// Numbers messages in arrival order. Touched only by the source's one delivering thread.
final class SequenceBox: @unchecked Sendable {
    var value = 0
}

/// Gathers a batch's replies and sends them as one array once all have arrived.
final class BatchCollector: Sendable {
    let expected: Int
    let writer: any MessageSink
    let replies = Mutex<[JSONValue]>([])

    init(expected: Int, writer: any MessageSink) {
        self.expected = expected
        self.writer = writer
    }

    func add(_ reply: Message) {
        let complete: [JSONValue]? = replies.withLock { r in
            r.append(reply.json)
            return r.count == expected ? r : nil
        }
        if let complete { writer.send(JSONValue.array(complete)) }
    }
}
