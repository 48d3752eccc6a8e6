import Foundation
import SegGraph
import SegProtocol
import SegPipeline
import SegReference
import Synchronization

/// The resident models, shared by every connection of a daemon, within a memory budget.
/// Loading never evicts anything by surprise: a model that does not fit is refused.
package actor ModelStore {
    package struct Entry: Sendable {
        package var id: String
        /// Absolute path of the file it came from, or nil for a model made in memory.
        package var path: String?
        package var model: Model
        package var summary: ModelSummary
        /// Checked at load: a resident model is one we can run. The oracle.
        package var executor: ReferenceExecutor
        /// The compiled runtime (plans per input shape, made on first use): what serves.
        package var runner: CompiledRunner
        /// How images become its input (from `segslim.*` metadata, overridable at load);
        /// nil for models that are not image-in, mask-out.
        package var preprocessing: Preprocessing?
        /// Size of the file it was loaded from (0 when made in memory).
        package var fileBytes: Int64
        /// Initializers plus bookkeeping (`ResidentModel.overheadBytes`).
        package var modelBytes: Int64
        /// What it holds now: `modelBytes` plus the plans its runner has compiled so far
        /// (packed weights and arena), so the figure grows when a new input shape is compiled.
        package var residentBytes: Int64 { modelBytes + Int64(runner.planBytes) }
        package var loadedAt: Date
        /// Id of the model it was compressed from.
        package var derivedFrom: String?
        /// The file at `path` as it was when read (or written), to notice it being replaced.
        package var file: FileIdentity? = nil

        /// How `model/list` shows it.
        var listed: ModelListRequest.Model {
            .init(id: id, path: path, residentBytes: residentBytes, loadedAtMs: (loadedAt.timeIntervalSince1970 * 1000).rounded(), derivedFrom: derivedFrom)
        }
    }

    package let budgetBytes: Int64
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    /// Loads announced or in progress, with the requests waiting for them. A request that
    /// names a model still loading waits for it, so a script may send `model/load` and then
    /// `model/segment` without waiting for the first answer.
    private nonisolated let pending = LoadWaiters()
    /// Plans compiled for requests rather than for resident models (a technique's calibration
    /// and latency runs), charged while they live.
    package nonisolated let transientPlans = PlanLedger()

    /// Working memory admitted for requests in flight (a segment's image buffers), charged
    /// until each is done.
    private nonisolated let admitted = Mutex<Int64>(0)

    package init(budgetBytes: Int64) { self.budgetBytes = budgetBytes }

    package var all: [Entry] { order.compactMap { entries[$0] } }
    package var count: Int { entries.count }
    /// Resident models (with their compiled plans) and the plans requests hold now.
    package var residentBytes: Int64 { entries.values.reduce(Int64(transientPlans.bytes)) { $0 + $1.residentBytes } }
    /// Working memory of requests in flight.
    package nonisolated var admittedBytes: Int64 { admitted.withLock { $0 } }

    /// Requests waiting for a model still loading (for tests).
    package nonisolated var waitingCount: Int { pending.waitingCount }

    /// A load for `id` has arrived (called on the reader thread, in arrival order); requests
    /// for `id` wait until it is reserved and finished, or dropped.
    package nonisolated func announce(_ id: String) { pending.announce(id) }

    /// The announced load has reserved its id (or failed before it could).
    package nonisolated func withdraw(_ id: String) { pending.withdraw(id) }

    /// The resident model `id`, waiting while a load of it is announced or in progress.
    /// Throws ModelNotFound when there is none (or its load failed), RequestCancelled when the
    /// waiting request is cancelled.
    package func entry(id: String) async throws(ResponseError) -> Entry {
        while entries[id] == nil, pending.isPending(id) {
            await pending.wait(for: id)
            if Task.isCancelled, entries[id] == nil { throw .cancelled }
        }
        guard let e = entries[id] else {
            throw ResponseError(.modelNotFound, "no resident model with id '\(id)' (resident: \(order.isEmpty ? "none" : order.joined(separator: ", ")))")
        }
        return e
    }

    /// Reserves an id for a load about to start: `requested` as given (an error if taken), or a
    /// fresh one derived from `base` (`base`, `base-2`, ...).
    package func reserve(requested: String?, base: String) throws(ResponseError) -> String {
        if let requested {
            guard entries[requested] == nil, !pending.isLoading(requested) else {
                throw .invalidParams("params.id: a model with id '\(requested)' is already resident; unload it or choose another id")
            }
            pending.beginLoading(requested)
            return requested
        }
        let id = uniqueID(base: base)
        pending.beginLoading(id)
        return id
    }

    /// Ends a reservation: the entry becomes resident (or, on failure, the id is free again);
    /// requests waiting for it go on.
    package func finishLoading(_ id: String, entry: Entry?) throws(ResponseError) {
        // Resident (or refused) before the waiters look again.
        defer { pending.endLoading(id) }
        if let entry { try add(entry) }
    }

    /// Adds a model; refuses a duplicate id or one that would exceed the budget.
    package func add(_ entry: Entry) throws(ResponseError) {
        guard entries[entry.id] == nil else {
            throw .invalidParams("params.id: a model with id '\(entry.id)' is already resident; unload it or choose another id")
        }
        try checkBudget(adding: entry.residentBytes, for: entry.id)
        entries[entry.id] = entry
        order.append(entry.id)
    }

    /// Fails with OutOfMemoryBudget when `bytes` more would not fit.
    package func checkBudget(adding bytes: Int64, for id: String) throws(ResponseError) {
        let used = residentBytes + admittedBytes
        guard used + bytes <= budgetBytes else {
            throw ResponseError(.outOfMemoryBudget, "model '\(id)' needs \(bytes) bytes but \(used) of the \(budgetBytes)-byte budget are in use (unload a model, or start segslimd with a larger --memory-budget)",
                                data: ["neededBytes": .int(bytes), "usedBytes": .int(used), "budgetBytes": .int(budgetBytes)])
        }
    }

    /// The resident model read from (or written to) `path`, if any.
    package func loaded(fromPath path: String) -> Entry? {
        order.lazy.compactMap { self.entries[$0] }.first { $0.path == path }
    }

    /// Puts a fresh entry in place of `old` under the same id (its file changed on disk),
    /// charging the difference against the budget. Requests already holding `old` finish with
    /// it. Fails with ModelNotFound when `old` was unloaded or replaced meanwhile.
    package func replace(_ old: Entry, with fresh: Entry) throws(ResponseError) {
        guard let current = entries[old.id], current.loadedAt == old.loadedAt else {
            throw ResponseError(.modelNotFound, "model '\(old.id)' was unloaded or reloaded while its file was read again")
        }
        try checkBudget(adding: fresh.residentBytes - current.residentBytes, for: fresh.id)
        entries[old.id] = fresh
    }

    /// Records the file a model was written to (`model/compress`'s output).
    package func recordFile(_ file: FileIdentity?, for id: String) {
        entries[id]?.file = file
    }

    /// Admits `bytes` of working memory for a request (`what` names it in the refusal), or
    /// fails with OutOfMemoryBudget when resident models, the plans they hold and the requests
    /// already admitted leave too little. Pair with `release`.
    /// `limit` caps one request whatever the budget leaves; `arenaBytes` (the plan's arena,
    /// already charged to the model) counts toward it.
    package func admit(_ bytes: Int64, for what: String, limit: Int64, arenaBytes: Int64 = 0) throws(ResponseError) {
        let used = residentBytes + admittedBytes
        let mb = { (b: Int64) in "\((Double(b) / 1_048_576 * 10).rounded() / 10) MB" }
        guard bytes + arenaBytes <= limit else {
            throw ResponseError(.outOfMemoryBudget, "\(what) needs about \(mb(bytes + arenaBytes)) of working memory, over the \(mb(limit)) one request may use (use a smaller image, a sliding window, or start segslimd with a larger --max-request-memory)",
                                data: ["neededBytes": .int(bytes + arenaBytes), "requestLimitBytes": .int(limit), "budgetBytes": .int(budgetBytes)])
        }
        guard used + bytes <= budgetBytes else {
            throw ResponseError(.outOfMemoryBudget, "\(what) needs about \(mb(bytes)) of working memory, but \(mb(used)) of the \(mb(budgetBytes)) budget are in use (use a smaller image, a sliding window, or start segslimd with a larger --memory-budget)",
                                data: ["neededBytes": .int(bytes), "usedBytes": .int(used), "budgetBytes": .int(budgetBytes)])
        }
        admitted.withLock { $0 += bytes }
    }

    /// Returns memory `admit` granted.
    package nonisolated func release(_ bytes: Int64) {
        admitted.withLock { $0 -= bytes }
    }

    @discardableResult
    package func remove(id: String) async throws(ResponseError) -> Entry {
        let e = try await entry(id: id)
        entries[id] = nil
        order.removeAll { $0 == id }
        return e
    }

    /// A fresh id like `lraspp-2` that no resident model uses.
    package func uniqueID(base: String) -> String {
        func taken(_ id: String) -> Bool { entries[id] != nil || pending.isLoading(id) }
        if !taken(base) { return base }
        var n = 2
        while taken("\(base)-\(n)") { n += 1 }
        return "\(base)-\(n)"
    }
}
