import Synchronization

/// Ids with a `model/load` in progress (announced on arrival, then reserved until it ends) and
/// the requests waiting for them. A lock rather than actor state: loads are announced on the
/// connection's reader thread, which must not wait for the model store.
///
/// Waiters are continuations resumed when their id may have changed state (its announcement
/// withdrawn, its load ended); each re-checks and waits again if the id is still pending. A
/// waiter whose task is cancelled is removed and resumed at once.
final class LoadWaiters: Sendable {
    private struct State {
        /// Announced loads not yet reserved (or dropped), with how many.
        var announced: [String: Int] = [:]
        /// Reserved ids whose load has not finished.
        var loading: Set<String> = []
        var waiters: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        var nextToken: UInt64 = 0

        func isPending(_ id: String) -> Bool { announced[id] != nil || loading.contains(id) }

        /// Takes every waiter of `id`, for resuming outside the lock.
        mutating func takeWaiters(_ id: String) -> [CheckedContinuation<Void, Never>] {
            Array((waiters.removeValue(forKey: id) ?? [:]).values)
        }
    }

    private let state = Mutex(State())

    func announce(_ id: String) {
        state.withLock { $0.announced[id, default: 0] += 1 }
    }

    /// The announced load has reserved its id, or failed before it could.
    func withdraw(_ id: String) {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard let n = s.announced[id] else { return [] }
            s.announced[id] = n > 1 ? n - 1 : nil
            return s.isPending(id) ? [] : s.takeWaiters(id)
        }
        for w in woken { w.resume() }
    }

    func isPending(_ id: String) -> Bool { state.withLock { $0.isPending(id) } }
    func isLoading(_ id: String) -> Bool { state.withLock { $0.loading.contains(id) } }

    func beginLoading(_ id: String) {
        state.withLock { _ = $0.loading.insert(id) }
    }

    /// The load of `id` ended (the model is resident, or it failed): every waiter re-checks.
    func endLoading(_ id: String) {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard s.loading.remove(id) != nil else { return [] }
            return s.takeWaiters(id)
        }
        for w in woken { w.resume() }
    }

    /// Requests waiting now (for tests: a cancelled waiter must not stay registered).
    var waitingCount: Int { state.withLock { $0.waiters.values.reduce(0) { $0 + $1.count } } }

    /// Returns when `id` may have stopped pending (see the type's comment), at once when it is
    /// not pending, or when the calling task is cancelled.
    func wait(for id: String) async {
        let token = state.withLock { s -> UInt64 in
            s.nextToken &+= 1
            return s.nextToken
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                // Registered under the lock that `onCancel` takes: a cancel either comes first
                // (seen here) or finds the continuation to resume.
                let now = state.withLock { s -> Bool in
                    guard s.isPending(id), !Task.isCancelled else { return true }
                    s.waiters[id, default: [:]][token] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
                let c = s.waiters[id]?.removeValue(forKey: token)
                if s.waiters[id]?.isEmpty == true { s.waiters[id] = nil }
                return c
            }
            c?.resume()
        }
    }
}
