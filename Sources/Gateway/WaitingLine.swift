import Dispatch
import Synchronization

/// The callers waiting in one queue, in order: higher priority first
/// (Asterisk's QUEUE_PRIO), then first come, first served.
///
/// Only the caller at the head of the line is offered agents. Waiting is
/// event-driven: a caller's task sleeps until it is its turn and something
/// changed that could free an agent (`agentsChanged`), or it leaves. Nothing
/// polls.
final class WaitingLine: Sendable {
    struct Entry {
        let ticket: UInt64
        let priority: Int
        let joined: ContinuousClock.Instant
        var waiter: CheckedContinuation<Void, Never>?
        /// Set when the caller was woken and has not waited since: a wake-up that
        /// came while it was busy (ringing someone) is not lost.
        var pending = false
    }

    private struct State {
        var entries: [Entry] = []
        var nextTicket: UInt64 = 1
    }

    let queue: String
    private let state = Mutex(State())

    init(queue: String) { self.queue = queue }

    /// Joins the line; the ticket is used for every later step.
    func join(priority: Int = 0, now: ContinuousClock.Instant = .now) -> UInt64 {
        state.withLock { state in
            let ticket = state.nextTicket
            state.nextTicket += 1
            let entry = Entry(ticket: ticket, priority: priority, joined: now)
            // Behind everyone of the same or a higher priority.
            let index = state.entries.firstIndex { $0.priority < priority } ?? state.entries.count
            state.entries.insert(entry, at: index)
            // A new head (an empty line, or a jump ahead) gets its turn at once.
            if index == 0 { state.entries[0].pending = true }
            return ticket
        }
    }

    /// Leaves the line (answered, gave up, hung up): a wait of its own ends,
    /// and when it was the head, the next caller's turn comes.
    func leave(_ ticket: UInt64) {
        let wake = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard let index = state.entries.firstIndex(where: { $0.ticket == ticket }) else { return [] }
            let leaving = state.entries.remove(at: index)
            var wake = leaving.waiter.map { [$0] } ?? []
            if index == 0, !state.entries.isEmpty, let next = Self.wakeHead(&state) { wake.append(next) }
            return wake
        }
        wake.forEach { $0.resume() }
    }

    /// 1 for the head of the line; nil when the ticket is not in it.
    func position(of ticket: UInt64) -> Int? {
        state.withLock { state in state.entries.firstIndex { $0.ticket == ticket }.map { $0 + 1 } }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Callers whose task is parked in `waitForTurn` now.
    var parked: Int { state.withLock { $0.entries.filter { $0.waiter != nil }.count } }

    /// Something changed that may let the head of the line be served (an agent
    /// freed, logged in, unpaused, registered): the head is woken.
    func agentsChanged() {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.entries.isEmpty else { return nil }
            return Self.wakeHead(&state)
        }
        wake?.resume()
    }

    /// Waits until it is this caller's turn and it has been woken since it
    /// last looked, or until `timeout`. True when it is its turn.
    func waitForTurn(_ ticket: UInt64, timeout: Duration) async -> Bool {
        if takePending(ticket) { return true }
        let expired = Mutex(false)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = state.withLock { state in
                guard let index = state.entries.firstIndex(where: { $0.ticket == ticket }) else { return true }
                if state.entries[index].pending {
                    state.entries[index].pending = false
                    return true
                }
                state.entries[index].waiter = continuation
                return false
            }
            if now { continuation.resume(); return }
            Deadlines.queue.asyncAfter(deadline: .now() + timeout.timeInterval) { [weak self] in
                guard let self else { return }
                let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    guard let index = state.entries.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                    defer { state.entries[index].waiter = nil }
                    return state.entries[index].waiter
                }
                if let waiter {
                    expired.withLock { $0 = true }
                    waiter.resume()
                }
            }
        }
        return !expired.withLock { $0 } && position(of: ticket) == 1
    }

    /// Wakes every waiting caller (the call ends, a queue is reloaded away).
    func wakeAll() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { for index in state.entries.indices { state.entries[index].waiter = nil } }
            return state.entries.compactMap(\.waiter)
        }
        waiters.forEach { $0.resume() }
    }

    private func takePending(_ ticket: UInt64) -> Bool {
        state.withLock { state in
            guard let index = state.entries.firstIndex(where: { $0.ticket == ticket }), state.entries[index].pending else { return false }
            state.entries[index].pending = false
            return index == 0
        }
    }

    private static func wakeHead(_ state: inout State) -> CheckedContinuation<Void, Never>? {
        if let waiter = state.entries[0].waiter {
            state.entries[0].waiter = nil
            return waiter
        }
        state.entries[0].pending = true
        return nil
    }
}
