import SegGraph
import SegProtocol
import SegServer
import SegTensor
import Testing

/// Requests that name a model while its load is announced or in progress wait for it (by
/// continuation, no polling), wake when it ends either way, and leave when cancelled.
@Suite struct ModelStoreWaitTests {
    /// x [1, 4] → Relu → y: enough to be a resident model.
    static func entry(_ id: String) throws -> ModelStore.Entry {
        var g = Graph(name: "relu")
        g.inputs = [ValueInfo(name: "x", type: TensorType(elementType: .f32, shape: [.value(1), .value(4)]))]
        g.nodes = [Node(opType: "Relu", inputs: ["x"], outputs: ["y"])]
        g.outputs = [ValueInfo(name: "y")]
        return try ResidentModel.make(id: id, path: nil, model: Model(graph: g), fileBytes: 0, derivedFrom: nil,
                                      preprocessing: .derived, cannotRun: { ResponseError(.internalError, "\($0)") })
    }

    /// The error code `entry` answers with, or nil when it returns the model.
    static func failure(_ store: ModelStore, _ id: String) async -> ErrorCode? {
        do throws(ResponseError) { _ = try await store.entry(id: id); return nil } catch { return error.code }
    }

    /// Yields until `count` requests are waiting (bounded, so a regression fails instead of hanging).
    static func waitForWaiters(_ store: ModelStore, _ count: Int) async throws {
        var spins = 0
        while store.waitingCount < count {
            spins += 1
            try #require(spins < 10_000_000, "waiters never registered (have \(store.waitingCount) of \(count))")
            await Task.yield()
        }
    }

    @Test func concurrentWaitersBothGetTheModelWhenItsLoadFinishes() async throws {
        let store = ModelStore(budgetBytes: 1 << 30)
        let id = try await store.reserve(requested: "m", base: "m")
        async let first = store.entry(id: id)
        async let second = store.entry(id: id)
        try await Self.waitForWaiters(store, 2)
        try await store.finishLoading(id, entry: try Self.entry(id))
        let (a, b) = try await (first, second)
        #expect(a.id == "m" && b.id == "m")
        #expect(store.waitingCount == 0)
    }

    @Test func aFailedLoadWakesItsWaitersWithModelNotFound() async throws {
        let store = ModelStore(budgetBytes: 1 << 30)
        let id = try await store.reserve(requested: "m", base: "m")
        let waiters = (0..<2).map { _ in Task { () -> ErrorCode? in
            return await Self.failure(store, id)
        } }
        try await Self.waitForWaiters(store, 2)
        try await store.finishLoading(id, entry: nil)
        for w in waiters { #expect(await w.value == .modelNotFound) }
        #expect(store.waitingCount == 0)
    }

    @Test func anAnnouncedLoadThatNeverReservesReleasesItsWaiters() async throws {
        let store = ModelStore(budgetBytes: 1 << 30)
        store.announce("m")
        let waiter = Task { () -> ErrorCode? in
            return await Self.failure(store, "m")
        }
        try await Self.waitForWaiters(store, 1)
        store.withdraw("m")
        #expect(await waiter.value == .modelNotFound)
    }

    @Test func aCancelledWaiterLeavesAndTheLoadStillCompletes() async throws {
        let store = ModelStore(budgetBytes: 1 << 30)
        let id = try await store.reserve(requested: "m", base: "m")
        let cancelled = Task { () -> ErrorCode? in
            return await Self.failure(store, id)
        }
        let patient = Task { try await store.entry(id: id).id }
        try await Self.waitForWaiters(store, 2)
        cancelled.cancel()
        #expect(await cancelled.value == .requestCancelled)
        #expect(store.waitingCount == 1)
        try await store.finishLoading(id, entry: try Self.entry(id))
        #expect(try await patient.value == "m")
        #expect(store.waitingCount == 0)
        // Cancelled before it could wait: answered at once, nothing registered.
        let late = Task { () -> ErrorCode? in
            withUnsafeCurrentTask { $0?.cancel() }
            store.announce("n")
            defer { store.withdraw("n") }
            return await Self.failure(store, "n")
        }
        #expect(await late.value == .requestCancelled)
        #expect(store.waitingCount == 0)
    }
}
